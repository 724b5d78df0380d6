"""Fixtures that synthesize the whole platform once per test session (per xdist worker)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import ENVIRONMENTS, PlatformConfig
from stacks.platform import Platform, build_platform
from tests.conftest import load_cdk_context


def new_app(**context) -> cdk.App:
    """An App with cdk.json's context (feature flags) plus ``context``."""
    return cdk.App(context={**load_cdk_context(), **context})


def synth_platform(config: PlatformConfig) -> tuple[cdk.App, Platform]:
    app = new_app()
    platform = build_platform(app, config)
    return app, platform


@pytest.fixture(scope="session")
def dev_platform() -> Platform:
    _, platform = synth_platform(ENVIRONMENTS["dev"])
    return platform


@pytest.fixture(scope="session")
def platform_templates(dev_platform: Platform) -> dict[str, dict]:
    """Template JSON of every dev stack, by short unit name (``data``, ``network``, ...)."""
    return {stack.stack_name.rsplit("-", 1)[-1]: Template.from_stack(stack).to_json() for stack in dev_platform.stacks}


def template(platform: Platform, unit: str) -> Template:
    stack = next(s for s in platform.stacks if s.stack_name.endswith(f"-{unit}"))
    return Template.from_stack(stack)


def new_stack(name: str = "Test") -> cdk.Stack:
    """A stack in a fresh app with a concrete environment, as the platform's stacks have."""
    return cdk.Stack(new_app(), name, env=cdk.Environment(account="111122223333", region="us-east-1"))
