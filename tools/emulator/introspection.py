"""Read-only HTTP routes under /_emulator/ that expose what moto's CloudFormation really built.

The CloudFormation API cannot say which template resources moto skipped: ListStackResources only
lists what exists. The server process holds the backends, so it answers the question directly.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs

PREFIX = "/_emulator/"
# The server prints this plus its port on stdout once it accepts connections.
READY_PREFIX = "READY "
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


def stack_resources(stack_name: str, account_id: str, region: str) -> list[dict[str, Any]] | None:
    """Every resource of the live stack's template: whether moto has a model for its type, whether
    it created an object, which template properties the model read, and updates it did not apply.
    """
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    from tools.emulator import tracking

    backend = cloudformation_backends[account_id][region]
    stack = next((s for s in backend.stacks.values() if stack_name in (s.name, s.stack_id)), None)
    if stack is None:
        return None
    resource_map = stack.resource_map
    parsed = resource_map._parsed_resources
    models = get_model_map()
    not_updated = tracking.UPDATES_NOT_APPLIED.get(stack.stack_id, set())
    rows = []
    for logical_id, spec in resource_map._resource_json_map.items():
        rtype = spec.get("Type", "")
        obj = parsed.get(logical_id)
        reads = tracking.PROPERTY_READS.get((stack.stack_id, logical_id))
        rows.append(
            {
                "logical_id": logical_id,
                "type": rtype,
                "modelled": rtype in models or rtype.startswith("Custom::"),
                "null_model": rtype in NULL_MODELS,
                "created": obj is not None and not isinstance(obj, str | dict),
                # A custom resource exists once its handler answered; moto's never does here.
                "handler_answered": obj.is_created() if hasattr(obj, "is_created") else None,
                "physical_id": getattr(obj, "physical_resource_id", None) if obj is not None else None,
                "condition_met": _condition_met(resource_map, spec.get("Condition")),
                "deletion_policy": spec.get("DeletionPolicy"),
                "properties": sorted(spec.get("Properties") or {}),
                "properties_read": sorted(reads) if reads is not None else None,
                "update_not_applied": logical_id in not_updated,
                "update_ignored": sorted(tracking.UPDATE_IGNORED.get((stack.stack_id, logical_id), ())),
            }
        )
    return rows


def _condition_met(resource_map: Any, condition: str | None) -> bool:
    if not condition:
        return True
    try:
        return bool(resource_map.lazy_condition_map[condition])
    except Exception:  # an unresolvable condition is reported as met, so the resource shows up
        return True


def wrap(app: Any) -> Any:
    """WSGI middleware: our routes first, everything else to moto."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        account = query.get("account") or os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT)
        region = query.get("region") or DEFAULT_REGION
        route = path[len(PREFIX) :].strip("/").split("/")
        if route == ["health"]:
            return _reply(start_response, 200, {"ok": True, "pid": os.getpid()})
        if len(route) == 2 and route[0] == "stacks":
            rows = stack_resources(route[1], account, region)
            if rows is None:
                return _reply(start_response, 404, {"error": f"no stack {route[1]} in {account}/{region}"})
            return _reply(start_response, 200, {"resources": rows})
        return _reply(start_response, 404, {"error": f"unknown emulator route {path}"})

    return application


def _reply(start_response: Any, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = "OK" if status == 200 else "Not Found"
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
