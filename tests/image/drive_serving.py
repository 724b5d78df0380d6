"""Runs inside the image environment: start the image's server as ``serve`` does, then send requests.

Usage: ``python drive_serving.py <exchange dir>``. Reads ``requests.json`` (a list of
``{"method", "path", "headers", "body_b64"}``) and writes ``responses.json``:
``{"start_up_error": str|null, "responses": [{"status", "content_type", "body_b64"}]}``.

Start-up is the image's ``serving_entrypoint`` up to gunicorn (stand-in
``serving.start_up``: defaults, then the toolkit's install of the user module);
requests go to the same WSGI callable gunicorn would serve, through werkzeug's
test client instead of a socket.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
from pathlib import Path


def main(exchange: Path) -> int:
    requests = json.loads((exchange / "requests.json").read_text())
    result: dict = {"start_up_error": None, "responses": []}
    try:
        from sagemaker_xgboost_container import serving

        serving.start_up()
    except Exception as exc:  # noqa: BLE001 - any start-up failure fails the endpoint
        traceback.print_exc()
        result["start_up_error"] = f"{type(exc).__name__}: {exc}"
        (exchange / "responses.json").write_text(json.dumps(result))
        return 3

    from werkzeug.test import Client

    client = Client(serving.main)
    for request in requests:
        response = client.open(
            request["path"],
            method=request["method"],
            headers=request.get("headers", {}),
            data=base64.b64decode(request.get("body_b64", "")),
        )
        result["responses"].append({
            "status": response.status_code,
            "content_type": response.headers.get("Content-Type"),
            "body_b64": base64.b64encode(response.get_data()).decode(),
        })
    (exchange / "responses.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
