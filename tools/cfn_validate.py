"""The CDK's CloudFormation Validate plugin, run in a second process so that its engine builds while the app starts.

    python -O -m tools.cfn_validate        (started by app.py: a JSON request a line on stdin, a report a line out)

Every synth validates its templates with the CDK's built-in CloudFormation
Validate plugin (an empty app's too). Its WebAssembly engine takes Node about
0.8 s to build, and one jsii process does one thing at a time, so in the app's
own process that second adds to the synth. Here it is built by a second
Python process with its own jsii Node process, on the other core, while the
app imports and builds its stacks. The app registers :class:`CloudFormationValidate`
in place of the built-in instance (``builtin_cloud_formation_validation=False``);
it hands each synth's templates to this process, which runs the CDK's own
plugin on them (same rules, same exclusions, same findings) and answers with
its report. The CDK then reports, acknowledges and fails synth exactly as
for the built-in plugin, which it recognises by name.

The trade: about 1.2 s more CPU a synth (a second interpreter and Node
process) for about 0.3 s less wall time on two cores, more on more; on one
core it would cost time. It runs at a lower priority, so that it takes the
core the app leaves idle rather than slow the app down.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from typing import Any

if __name__ == "__main__":
    # The app waits on this process only at the end of its synth: until then it
    # yields the cores to the app (and its jsii Node process, which inherits it).
    os.nice(10)

import aws_cdk as cdk  # noqa: E402
import jsii  # noqa: E402

from tools import cli  # noqa: E402

#: The built-in plugin's name: the CDK treats a report by this name as its own
#: (``Acknowledge with 'CloudFormation-Validate::W3010'``, the feature flag that
#: makes its findings errors).
PLUGIN_NAME = "CloudFormation Validate"


@jsii.implements(cdk.IPolicyValidationContext)
class _Templates:
    """What the CDK's plugin reads of a validation context: the templates, each with its stack.

    ``stacks``: the keyword arguments of ``cdk.PolicyValidationStack``, as the request carries them.
    """

    def __init__(self, stacks: list[dict[str, Any]], app: cdk.App) -> None:
        self._stacks, self._app = stacks, app

    @property
    def stack_templates(self) -> list[cdk.PolicyValidationStack]:
        return [cdk.PolicyValidationStack(**stack) for stack in self._stacks]

    @property
    def template_paths(self) -> list[str]:
        return [stack["template_path"] for stack in self._stacks]

    @property
    def app_construct(self) -> cdk.App:
        return self._app  # not read by the CloudFormation Validate plugin, which reads the template files

    @property
    def account_id(self) -> str | None:
        return None

    @property
    def region(self) -> str | None:
        return None


def _violation(v: cdk.PolicyViolation) -> dict[str, Any]:
    """A finding as JSON, keyed by ``cdk.PolicyViolation``'s (and its resources') keyword arguments."""
    return {
        "rule_name": v.rule_name, "description": v.description, "severity": v.severity, "fix": v.fix,
        "rule_metadata": dict(v.rule_metadata) if v.rule_metadata else None,
        "violating_resources": [{"resource_logical_id": r.resource_logical_id, "construct_path": r.construct_path,
                                 "template_path": r.template_path, "locations": list(r.locations)}
                                for r in v.violating_resources],
    }


def serve(argv: list[str]) -> int:
    """Build the plugin, then answer each request line with the plugin's report, until stdin closes."""
    cli.ArgumentParser(prog="python -O -m tools.cfn_validate", description=__doc__.splitlines()[0]).parse_args(argv)
    plugin = cdk.CloudFormationValidatePlugin()  # include_default_rules: true by default
    app = cdk.App()
    for line in sys.stdin:
        report = plugin.validate(_Templates(json.loads(line)["stacks"], app))
        answer = {"version": plugin.version, "success": report.success,
                  "violations": [_violation(v) for v in report.violations]}
        print(json.dumps(answer), flush=True)
    gc.freeze()  # as app.py does: no final collection over the aws_cdk modules' objects at exit
    return 0


@jsii.implements(cdk.IPolicyValidationPlugin)
class CloudFormationValidate:
    """The CDK's CloudFormation Validate plugin, evaluated by ``python -m tools.cfn_validate`` in ``child``.

    app.py starts the child first thing, before it imports aws_cdk, so that the
    child's engine builds while the app starts (this module imports aws_cdk).
    """

    def __init__(self, child: subprocess.Popen) -> None:
        self._version: str | None = None
        self._child = child
        #: Why the templates went unvalidated, if they did.
        self.error: str | None = None

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        stacks = [{"stack_construct_path": s.stack_construct_path, "template_path": s.template_path,
                   "account_id": s.account_id, "region": s.region} for s in context.stack_templates]
        try:
            self._child.stdin.write(json.dumps({"stacks": stacks}) + "\n")
            self._child.stdin.flush()
            line = self._child.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            # The CDK records a failed plugin in its report but does not fail synth on it: the app does, on this.
            self.error = (f"the CloudFormation Validate process (python -m tools.cfn_validate) ended with exit"
                          f" code {self._child.wait()} before validating the templates; its error is above")
            raise RuntimeError(self.error)
        answer = json.loads(line)
        self._version = answer["version"]
        return cdk.PolicyValidationPluginReport(
            success=answer["success"],
            violations=[cdk.PolicyViolation(**{**v, "violating_resources": [
                cdk.PolicyViolatingResource(**r) for r in v["violating_resources"]]}) for v in answer["violations"]],
            plugin_version=self._version,
        )


if __name__ == "__main__":
    cli.run(serve)
