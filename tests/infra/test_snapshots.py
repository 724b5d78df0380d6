"""One snapshot per stack: any change to a template shows up in review as a diff.

Update deliberately with `pytest tests/infra/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import json
import re

import pytest

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
STACKS = ["data", "network", "access", "pipeline", "batch", "notebook", "registry", "endpoint", "monitoring", "people"]


def normalized(template: dict) -> dict:
    """The template without what changes when unrelated code changes: asset hashes and CDK analytics."""
    resources = {k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::CDK::Metadata"}
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps({**template, "Resources": resources})))


@pytest.mark.parametrize("unit", STACKS)
def test_stack_matches_snapshot(platform_templates: dict[str, dict], unit: str, snapshot) -> None:
    if unit not in platform_templates:
        pytest.fail(f"stack {unit!r} is not part of the platform; remove it from STACKS deliberately")
    assert normalized(platform_templates[unit]) == snapshot
