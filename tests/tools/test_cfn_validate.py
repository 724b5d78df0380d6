"""tools/cfn_validate.py: the CDK's CloudFormation Validate in a child process reports what it does in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk

from tools import cfn_validate

REPO_ROOT = Path(__file__).resolve().parents[2]
#: As app.py starts it: the venv's Node 24 first on PATH, for the child's jsii.
CHILD_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

TOPIC_WITH_AN_UNKNOWN_PROPERTY = {"Resources": {"Odd": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuch": 1}}}}
QUEUE_WITH_A_BAD_VALUE = {"Resources": {"Slow": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": "soon"}}}}
VALID_BUCKET = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}


def _stacks(tmp_path: Path) -> list[dict]:
    stacks = []
    for name, template in [("Odd", TOPIC_WITH_AN_UNKNOWN_PROPERTY), ("Slow", QUEUE_WITH_A_BAD_VALUE),
                           ("Fine", VALID_BUCKET)]:
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(template))
        stacks.append({"stack_construct_path": name, "template_path": str(path), "account_id": "111122223333",
                       "region": "eu-west-1"})
    return stacks


def _run_child(stdin: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -O -m tools.cfn_validate`` as app.py starts it, given ``stdin``."""
    return subprocess.run([sys.executable, "-O", "-m", "tools.cfn_validate"], cwd=REPO_ROOT, env=CHILD_ENV,
                          text=True, input=stdin, capture_output=True, check=False, **kwargs)


def test_the_child_process_reports_what_the_cdks_plugin_reports_in_process(tmp_path):
    # GIVEN three templates: an unknown property, a value of the wrong type, and a valid one
    stacks = _stacks(tmp_path)
    # WHEN the child process validates them
    child = _run_child(json.dumps({"stacks": stacks}) + "\n")
    assert child.returncode == 0, child.stderr
    (answer,) = [json.loads(line) for line in child.stdout.splitlines()]
    # AND the CDK's plugin validates them in this process
    plugin = cdk.CloudFormationValidatePlugin()
    report = plugin.validate(cfn_validate._Templates(stacks, cdk.App()))
    # THEN both found the same findings, on the same resources, and neither passes the templates
    assert answer["violations"] == [cfn_validate._violation(v) for v in report.violations]
    assert (answer["success"], answer["version"]) == (report.success, plugin.version)
    findings = {(v["rule_name"], r["resource_logical_id"]) for v in answer["violations"]
                for r in v["violating_resources"]}
    assert {resource for _, resource in findings} == {"Odd", "Slow"}
    assert not answer["success"]


def test_the_child_process_ends_when_its_input_does():
    # GIVEN the child process WHEN its stdin closes with no request THEN it ends, successfully, saying nothing
    child = _run_child("", timeout=60)
    assert (child.returncode, child.stdout) == (0, "")
