"""The CD pipeline: tests, nag-checked synth, dev, approval, prod; it passes the four packs itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs import compliance

from stacks.config import DELIVERY, ConfigError, DeliveryConfig, delivery_environments, delivery_from_context
from stacks.delivery_stack import DeliveryStack
from tests.infra.conftest import new_app
from tools import synth_report

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The wildcard actions CDK Pipelines generates (BucketGrants, KeyGrants); any other is one we added.
GENERATED_WILDCARDS = {"s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*",
                       "kms:GenerateDataKey*", "kms:ReEncrypt*"}


def _synth(tmp_path: Path, delivery: DeliveryConfig = DELIVERY) -> dict:
    context = {**new_app().node.get_all_context(), "aws:cdk:enable-path-metadata": True}
    app = cdk.App(outdir=str(tmp_path), context=context)
    dev, prod = delivery_environments(delivery)
    DeliveryStack(app, "MlPlatform-delivery", delivery=delivery, dev=dev, prod=prod,
                  env=cdk.Environment(account=delivery.account, region=delivery.region))
    compliance.add_nag_packs(app)
    app.synth()  # raises on any unacknowledged finding, in the pipeline stack and in both stages
    return json.loads((tmp_path / "MlPlatform-delivery.template.json").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    return _synth(tmp_path_factory.mktemp("delivery"))


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_the_pipeline_tests_synthesizes_deploys_dev_then_waits_for_approval_before_prod(template):
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline")
    stages = [s["Name"] for s in pipeline["Properties"]["Stages"]]
    assert stages == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]
    prod = pipeline["Properties"]["Stages"][-1]["Actions"]
    approval = next(a for a in prod if a["ActionTypeId"]["Category"] == "Approval")
    deploys = [a for a in prod if a["ActionTypeId"]["Category"] == "Deploy"]
    assert deploys and all(a["RunOrder"] > approval["RunOrder"] for a in deploys)
    stacks = {a["Configuration"]["StackName"] for a in deploys}
    assert "MlPlatform-prod-data" in stacks and "MlPlatform-prod-endpoint" in stacks


def test_the_source_is_the_configured_connection(template):
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline")
    (source,) = pipeline["Properties"]["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == DELIVERY.connection_arn
    assert source["Configuration"]["FullRepositoryId"] == DELIVERY.repository


def test_the_synth_step_runs_the_quick_tests_and_every_nag_checked_synth(template):
    specs = [json.loads(p["Properties"]["Source"]["BuildSpec"]) for p in _resources(template, "AWS::CodeBuild::Project")
             if "make test-quick" in p["Properties"]["Source"]["BuildSpec"]]
    (spec,) = specs
    commands = spec["phases"]["build"]["commands"]
    assert commands[0] == "make test-quick"
    assert "make synth SYNTH_CONTEXT='env=dev'" in commands
    assert any(re.fullmatch(r"make synth SYNTH_CONTEXT='env=prod account=\d{12}'", c) for c in commands)
    assert commands[-1] == "make synth-delivery DELIVERY_OUT=cdk.out"  # the assembly the pipeline deploys


def test_no_wildcard_action_but_cdk_pipelines_generated_grants(template):
    actions = set()
    for policy in _resources(template, "AWS::IAM::Policy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    assert "*" not in actions
    assert {a for a in actions if "*" in a} <= GENERATED_WILDCARDS


def test_the_pipelines_artifacts_are_kms_encrypted_with_rotation(template):
    (key,) = _resources(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    (bucket,) = _resources(template, "AWS::S3::Bucket")
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_acknowledgements_are_exact_and_explained(template):
    rules = [rule for r in template["Resources"].values()
             for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    assert rules
    for rule in rules:
        assert len(rule["reason"]) >= compliance.MIN_REASON_LENGTH, rule
        if "IAM5" in rule["id"]:
            assert re.search(r"IAM5\[(Resource|Action)::[^\]]+\]$", rule["id"]), rule


@pytest.mark.slow  # a second synth of the pipeline with both stages
def test_cross_account_targets_pass_the_packs_too(tmp_path):
    # GIVEN separate tooling, dev and prod accounts
    delivery = DeliveryConfig(account="222233334444", dev_account="333344445555", prod_account="444455556666")
    # WHEN synthesized THEN every pack passes and each stage deploys into its own account
    template = _synth(tmp_path, delivery)
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline")
    roles = json.dumps(pipeline["Properties"]["Stages"][-2:])
    assert "333344445555" in roles and "444455556666" in roles


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("false", False), ("true", True), (True, True)])
def test_the_delivery_switch(value, expected):
    assert delivery_from_context({"delivery": value}) is expected


def test_a_bad_delivery_switch_names_the_fix():
    with pytest.raises(ConfigError, match=r"delivery='yes' must be true or false: -c delivery=true"):
        delivery_from_context({"delivery": "yes"})


@pytest.mark.parametrize(("field", "value", "pattern"), [
    ("connection_arn", "arn:aws:s3:::nope", r"is no CodeConnections ARN"),
    ("prod_account", "123", r"prod_account '123' must be a 12-digit AWS account ID"),
    ("repository", "no-owner", r"must be owner/name"),
])
def test_bad_delivery_config_names_the_fix(field, value, pattern):
    with pytest.raises(ConfigError, match=pattern):
        DeliveryConfig(**{field: value})


def test_the_platforms_synth_does_not_load_cdk_pipelines():
    # The platform's synth time is benchmarked: CDK Pipelines is imported only under -c delivery=true.
    code = "import sys, app; print('aws_cdk.pipelines' in sys.modules, 'stacks.delivery_stack' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_synth_report_counts_the_pipeline_stack(template, tmp_path):
    (tmp_path / "MlPlatform-delivery.template.json").write_text(json.dumps(template))
    summary = synth_report.summarize(tmp_path)
    assert summary["resources"] == {"MlPlatform-delivery": 21}
