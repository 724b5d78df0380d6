"""The CDK app (app.py) under the real CDK CLI: bad context ends in one line and exit 2, never a traceback.

The context is checked where it enters (stacks.config.from_context); the rows
here run in-process, the few subprocess tests cross the real CDK CLI boundary
(each starts jsii: a few seconds).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import botocore
import pytest

from stacks.config import AWS_REGIONS, ConfigError, from_context

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"

# Each row: the context as `cdk synth -c` gives it, and a regex of the refusal.
BAD_CONTEXT = [
    pytest.param({"region": "us-east-9"}, r"^region 'us-east-9' is not an AWS region; use one of the aws partition's,"
                 r" e\.g\. -c region=eu-west-1 \(known: .*\)$", id="unknown-region"),
    pytest.param({"region": "cn-north-1"}, r"region 'cn-north-1' is not an AWS region", id="other-partition"),
    pytest.param({"region": "US-EAST-1"}, r"region 'US-EAST-1' is not an AWS region", id="upper-case-region"),
    pytest.param({"env": "prod"}, r"^environment 'prod' needs its AWS account: add -c account=<12-digit account ID>"
                 r" \(only dev synthesizes with the placeholder account 111122223333\)$", id="prod-without-account"),
    pytest.param({"env": "prod", "account": ""}, r"environment 'prod' needs its AWS account", id="empty-account"),
    pytest.param({"env": "prod", "account": "1234567890123"}, r"account '1234567890123' must be a 12-digit",
                 id="long-account"),
    pytest.param({"env": "dev", "account": "abcdefghijkl"}, r"account 'abcdefghijkl' must be a 12-digit",
                 id="letters-account"),
    pytest.param({"env": "Prod"}, r"^unknown environment 'Prod'; choose one of \['dev', 'prod'\] with -c env=NAME$",
                 id="unknown-env"),
    pytest.param({"model_package_version": "1.0"}, r"^model_package_version '1\.0' must be a version number",
                 id="version-float"),
    pytest.param({"model_package_version": "1e3"}, r"model_package_version '1e3' must be", id="version-exponent"),
    pytest.param({"model_package_version": " 2"}, r"model_package_version ' 2' must be", id="version-space"),
    pytest.param({"model_package_version": "٣"}, r"model_package_version '٣' must be", id="version-arabic-digit"),
    pytest.param({"model_package_version": "99999999999"}, r"must be a version number", id="version-huge"),
    pytest.param({"model_package_version": True}, r"model_package_version True must be", id="version-bool"),
    pytest.param({"env": ["prod"]}, r"context env=\['prod'\] must be text \(-c env=\.\.\.\)", id="env-not-text"),
]


@pytest.mark.parametrize(("context", "message"), BAD_CONTEXT)
def test_bad_context_is_refused_where_it_enters(context, message):
    # GIVEN the context of a `cdk synth -c ...` WHEN the app reads it THEN a ConfigError naming value and fix
    with pytest.raises(ConfigError) as refused:
        from_context(context)
    assert re.search(message, str(refused.value)), refused.value
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, ("dev", "111122223333", "us-east-1", 1)),
        ({"env": "prod", "account": "123456789012", "region": "eu-west-1"}, ("prod", "123456789012", "eu-west-1", 1)),
        ({"account": 123456789012, "model_package_version": 7}, ("dev", "123456789012", "us-east-1", 7)),
        ({"model_package_version": "12"}, ("dev", "111122223333", "us-east-1", 12)),
    ],
)
def test_good_context_still_works(context, expected):
    config = from_context(context)
    assert (config.name, config.account, config.region, config.workloads.model_package_version) == expected


def test_the_region_list_holds_every_region_of_the_aws_partition():
    # GIVEN botocore's bundled endpoint data (a file in the venv; no network)
    endpoints = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    (aws,) = [p for p in endpoints["partitions"] if p["partition"] == "aws"]
    # THEN the constant knows each region, and nothing else (a new region: add it to stacks/config.py)
    assert set(AWS_REGIONS) == set(aws["regions"])


def _child_env() -> dict[str, str]:
    """A child process's environment: the venv's Python and Node first, no debug switch, no AWS credentials."""
    env = {k: v for k, v in os.environ.items() if k != "MLP_DEBUG" and not k.startswith("AWS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
    return env


def _cdk_synth(tmp_path: Path, *context: str, app: str | None = None) -> subprocess.CompletedProcess:
    env = _child_env()
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    env["TMPDIR"] = str(tmp_path / "TMPDIR")
    (tmp_path / "TMPDIR").mkdir()
    command = [str(CDK_CLI), "synth", "--quiet", "--no-notices", "--output", str(tmp_path / "cdk.out")]
    command += ["--app", app] if app else []
    for item in context:
        command += ["-c", item]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)


def _one_failure_line(proc: subprocess.CompletedProcess, tmp_path: Path, *, exit_code: int) -> str:
    """The app's one ``error:`` line, after checking what every failed synth shares.

    No traceback, the app's exit code as the CLI reports it, nothing left in the temporary directory.
    """
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    (app_line,) = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert f"Subprocess exited with error {exit_code}" in proc.stderr
    assert not list((tmp_path / "TMPDIR").iterdir())
    return app_line


@pytest.mark.parametrize(
    ("context", "line"),
    [
        pytest.param(["region=us-east-9"], r"^error: region 'us-east-9' is not an AWS region", id="unknown-region"),
        pytest.param(["env=prod"], r"^error: environment 'prod' needs its AWS account", id="prod-without-account"),
        pytest.param(["model_package_version=x"], r"^error: model_package_version 'x' must be a version number",
                     id="version-not-a-number"),
    ],
)
def test_the_app_under_the_cdk_cli_refuses_bad_context_in_one_line(context, line, tmp_path):
    # WHEN the real CDK CLI runs the app with bad context
    proc = _cdk_synth(tmp_path, *context)
    # THEN the app's one line, its exit 2 as the CLI reports it, no traceback, no template, nothing left behind
    assert re.search(line, _one_failure_line(proc, tmp_path, exit_code=2)), proc.stderr
    assert not list((tmp_path / "cdk.out").glob("*.template.json"))


def _python(script: str, *args: str) -> object:
    """What a fresh interpreter running ``script`` prints as JSON on its last line."""
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, env=_child_env(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


JSII_REQUESTS_OF_IMPORTING_THE_APP = """
import json
import aws_cdk
from jsii._kernel.providers import process
sent, send = [], process._NodeProcess.send
process._NodeProcess.send = lambda self, request, *a: (sent.append(type(request).__name__), send(self, request, *a))[1]
import app
print(json.dumps(sent))
"""


def test_importing_the_app_and_its_stacks_sends_no_jsii_request():
    # GIVEN a fresh interpreter with the CDK's core loaded and jsii's requests to Node counted
    # WHEN it imports the app, and with it every module the app imports (the stacks, the constructs, the config)
    sent = _python(JSII_REQUESTS_OF_IMPORTING_THE_APP)
    # THEN none was sent: a synth imports them while its start-up thread waits on Node,
    # and jsii's client has no lock (a constant like ec2.InterfaceVpcEndpointAwsService.STS is a request)
    assert sent == []


# The app as `cdk synth` runs it (__main__, so its start-up thread runs), with one resource
# whose property CloudFormation does not know added to the first stack.
APP_WITH_AN_UNKNOWN_PROPERTY = (
    f"{sys.executable} -c \"import runpy, aws_cdk, stacks.platform; build = stacks.platform.build_platform; "
    "stacks.platform.build_platform = lambda app, config: aws_cdk.CfnResource(build(app, config).data, 'Odd', "
    "type='AWS::SNS::Topic', properties={'NoSuchProperty': 1}); runpy.run_path('app.py', run_name='__main__')\""
)


def test_the_templates_are_still_checked_by_cloudformation_validate(tmp_path):
    # GIVEN the app, whose start-up thread builds the CloudFormation Validate plugin the app registers,
    # and a template with a property the resource's schema does not have
    # WHEN the CDK CLI synthesizes it
    proc = _cdk_synth(tmp_path, app=APP_WITH_AN_UNKNOWN_PROPERTY)
    # THEN the plugin reports it, once, on that resource, and synth fails
    assert proc.returncode != 0
    findings = re.findall(r"Additional properties are not allowed \('NoSuchProperty' was unexpected\)", proc.stderr)
    assert len(findings) == 1, proc.stderr
    assert "MlPlatform-dev-data/Odd" in proc.stderr
    assert "(CloudFormation Validate)" in proc.stderr


# Each row: an app that fails as `cdk synth` runs it, and the one line it must end in (exit 1).
FAILING_APPS = [
    # a construct that raises: a bug, not bad input
    pytest.param("import app, stacks.platform; "
                 "app.build_platform = lambda *a: (_ for _ in ()).throw(KeyError('subnets')); app.cli.run(app.main)",
                 r"error: unexpected KeyError: 'subnets' \(rerun with --debug or MLP_DEBUG=1 for the traceback\)",
                 id="bug-in-a-construct"),
    # cdk-nag's bindings failing to import on the start-up thread: reported by the main thread
    pytest.param("import runpy, sys; sys.modules['cdk_nag'] = None; runpy.run_path('app.py', run_name='__main__')",
                 r"error: unexpected ModuleNotFoundError: import of cdk_nag halted; None in sys\.modules"
                 r" \(rerun with --debug or MLP_DEBUG=1 for the traceback\)",
                 id="start-up-thread"),
    # the CloudFormation Validate process exiting at once: the synth fails rather than pass unvalidated
    # (the CDK itself only records a failed plugin)
    pytest.param("import runpy, subprocess; popen = subprocess.Popen; subprocess.Popen = lambda cmd, **kw: "
                 "popen(['false'] if 'tools.cfn_validate' in cmd else cmd, **kw); "
                 "runpy.run_path('app.py', run_name='__main__')",
                 r"error: the CloudFormation Validate process \(python -m tools\.cfn_validate\) ended with exit"
                 r" code 1 before validating the templates; its error is above",
                 id="validation-process-died"),
]


@pytest.mark.parametrize(("script", "line"), FAILING_APPS)
def test_a_failing_app_ends_in_one_line_exit_1_and_leaves_nothing_behind(script, line, tmp_path):
    # GIVEN an app that fails WHEN the CDK CLI runs it
    proc = _cdk_synth(tmp_path, app=f'{sys.executable} -c "{script}"')
    # THEN its one line, exit 1 as the CLI reports it, no traceback, nothing in the temporary directory
    assert re.fullmatch(line, _one_failure_line(proc, tmp_path, exit_code=1)), proc.stderr
