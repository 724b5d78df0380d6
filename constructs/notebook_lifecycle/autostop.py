#!/usr/bin/env python3
"""Stop this SageMaker notebook instance once Jupyter has been idle for N minutes.

Run from cron by the on-start lifecycle script. Standard library only: the
notebook has no internet route, so nothing can be pip-installed at start, and
the system python3 of the notebook platform (3.7 or later) runs this as is.

Idle means: no kernel is busy, and the newest ``last_activity`` of any
kernel (from ``/api/sessions``) or terminal is older than N minutes. With
neither kernels nor terminals, the instance's boot time counts as the last
activity, so a notebook nobody opened still stops.
"""

from __future__ import annotations

import argparse
import json
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

#: Jupyter on a notebook instance listens on localhost with a self-signed certificate.
DEFAULT_JUPYTER_URL = "https://localhost:8443"
METADATA_FILE = "/opt/ml/metadata/resource-metadata.json"
DEFAULT_STOP_COMMAND = "aws sagemaker stop-notebook-instance --region {region} --notebook-instance-name {name}"


def parse_time(value: str) -> float:
    """Jupyter's ISO 8601 UTC timestamp (``2024-05-01T12:00:00.123456Z``) -> epoch seconds."""
    value = value.rstrip("Z").split("+")[0]
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in value else "%Y-%m-%dT%H:%M:%S"
    # timezone.utc, not datetime.UTC: the notebook's system python may predate 3.11.
    return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc).timestamp()  # noqa: UP017


def get_json(url: str, timeout: float = 10.0):
    context = None
    if url.startswith("https://localhost") or url.startswith("https://127.0.0.1"):
        # The only TLS peer is this machine's own Jupyter, whose certificate is
        # self-signed; nothing leaves the host.
        context = ssl._create_unverified_context()  # noqa: S323
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
        return json.load(response)


def last_activity(jupyter_url: str, booted_at: float) -> tuple[float, bool]:
    """(epoch seconds of the newest activity, whether a kernel is busy right now)."""
    newest, busy = None, False
    for session in get_json(f"{jupyter_url}/api/sessions"):
        kernel = session.get("kernel") or {}
        busy = busy or kernel.get("execution_state") == "busy"
        if kernel.get("last_activity"):
            seen = parse_time(kernel["last_activity"])
            newest = seen if newest is None else max(newest, seen)
    try:
        terminals = get_json(f"{jupyter_url}/api/terminals")
    except Exception:  # noqa: BLE001 - servers without the terminals extension
        terminals = []
    for terminal in terminals:
        if terminal.get("last_activity"):
            seen = parse_time(terminal["last_activity"])
            newest = seen if newest is None else max(newest, seen)
    return (booted_at if newest is None else newest), busy


def boot_time() -> float:
    with open("/proc/uptime") as uptime:
        return time.time() - float(uptime.read().split()[0])


def notebook_identity(metadata_file: str) -> tuple[str, str]:
    """(name, region) of this notebook instance, from the metadata SageMaker writes on the host."""
    with open(metadata_file) as f:
        metadata = json.load(f)
    region = metadata["ResourceArn"].split(":")[3]
    return metadata["ResourceName"], region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--idle-minutes", type=int, required=True)
    parser.add_argument("--jupyter-url", default=DEFAULT_JUPYTER_URL)
    parser.add_argument("--metadata-file", default=METADATA_FILE)
    parser.add_argument("--stop-command", default=DEFAULT_STOP_COMMAND)
    parser.add_argument("--booted-at", type=float, help="epoch seconds; default from /proc/uptime")
    parser.add_argument("--before-stop", default="", help="command run before stopping (copy the files away)")
    args = parser.parse_args(argv)

    booted_at = args.booted_at if args.booted_at is not None else boot_time()
    newest, busy = last_activity(args.jupyter_url, booted_at)
    idle_seconds = time.time() - newest
    if busy or idle_seconds < args.idle_minutes * 60:
        print(f"autostop: active (busy={busy}, idle {idle_seconds / 60:.1f} of {args.idle_minutes} min)")
        return 0
    name, region = notebook_identity(args.metadata_file)
    command = [part.format(name=name, region=region) for part in shlex.split(args.stop_command)]
    print(f"autostop: idle {idle_seconds / 60:.1f} min >= {args.idle_minutes}; stopping {name}")
    sys.stdout.flush()
    if args.before_stop:
        # A failed copy is reported but does not keep an idle instance running:
        # the copy of 5 minutes ago is in S3, and the files stay on the volume.
        copied = subprocess.run(shlex.split(args.before_stop), check=False).returncode  # noqa: S603
        print(f"autostop: before-stop command exited {copied}")
        sys.stdout.flush()
    return subprocess.run(command, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
