"""Synthesize one environment in memory (hermetic, as ``cdk synth``) and return its templates."""

from __future__ import annotations

import json
from pathlib import Path

from stacks.config import PlatformConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def environment_templates(config: PlatformConfig) -> dict[str, dict]:
    """``{unit: template JSON}`` of every stack of ``config`` (``data``, ``network``, ``access``...)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from stacks.platform import build_platform

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    platform = build_platform(cdk.App(context=context), config)
    return {stack.stack_name.rsplit("-", 1)[-1]: Template.from_stack(stack).to_json() for stack in platform.stacks}
