"""Which resources of a deployed stack the emulator did not really build, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.emulator.patches import MOTO_VERSION

if TYPE_CHECKING:
    from tools.emulator.core import Emulator

# Types that have nothing to build: their absence is not a gap in the emulation.
NOTHING_TO_BUILD = {"AWS::CDK::Metadata"}

Unemulated = tuple[str, str, str]


def unemulated_resources(stack_name: str, *, emulator: Emulator | None = None) -> list[Unemulated]:
    """(logical_id, type, reason) for every template resource moto skipped, did not build,
    built without some of its properties, or did not update; empty when all were emulated.

    Without `emulator`, asks the one this process's environment points at (AWS_ENDPOINT_URL, as
    set by `python -m tools.emulator run` or `Emulator.env()`).
    """
    from tools.emulator.core import Emulator

    emulator = emulator or Emulator.from_environment()
    rows = emulator.introspect(f"stacks/{stack_name}")["resources"]
    return [item for row in rows for item in _gaps(row)]


def _gaps(row: dict[str, Any]) -> list[Unemulated]:
    logical_id, rtype = row["logical_id"], row["type"]
    if rtype in NOTHING_TO_BUILD or not row["condition_met"]:
        return []
    if row["null_model"]:
        return [(logical_id, rtype, f"moto {MOTO_VERSION} treats this type as a no-op")]
    if not row["modelled"]:
        return [(logical_id, rtype, f"moto {MOTO_VERSION} has no CloudFormation model for this type: skipped")]
    if not row["created"]:
        return [(logical_id, rtype, "moto has a model but created nothing (see the emulator log)")]
    if rtype.startswith("Custom::") and not row["handler_answered"]:
        return [
            (
                logical_id,
                rtype,
                "custom resource: its Lambda handler never answered (moto runs Lambda only in Docker and "
                "needs a server reachable from it), so nothing the handler does happened",
            )
        ]
    gaps: list[Unemulated] = []
    read = row["properties_read"]
    if read is not None:
        ignored = [p for p in row["properties"] if p not in read]
        if ignored:
            gaps.append((logical_id, rtype, f"moto ignored properties: {', '.join(ignored)}"))
    if row["update_ignored"]:
        gaps.append(
            (logical_id, rtype, f"moto's update ignored changed properties: {', '.join(row['update_ignored'])}")
        )
    if row["update_not_applied"]:
        gaps.append(
            (logical_id, rtype, "template changed but moto cannot update this type; it keeps its old properties")
        )
    return gaps


def format_report(stack_name: str, gaps: list[Unemulated]) -> str:
    if not gaps:
        return f"{stack_name}: every resource was emulated"
    # Padding to the longest id would push reasons off screen (CDK ids reach 90 characters).
    width = min(max(len(g[0]) for g in gaps), 40)
    lines = [f"{stack_name}: {len(gaps)} resource gap(s) in the emulator (moto {MOTO_VERSION}):"]
    lines += [f"  {lid:<{width}}  {rtype:<40}  {reason}" for lid, rtype, reason in gaps]
    return "\n".join(lines)
