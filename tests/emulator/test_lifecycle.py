"""End to end: bootstrap, deploy, update, destroy the fixture CDK app on the emulator."""

from __future__ import annotations

import re
import time

import pytest

from tests.emulator.conftest import FIXTURE_APP
from tools.emulator import Emulator
from tools.emulator.patches import MOTO_VERSION

pytestmark = pytest.mark.slow

STACK = "EmulatorFixture"


def stack_outputs(emu: Emulator) -> dict[str, str]:
    stack = emu.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def physical_ids(emu: Emulator) -> dict[str, str]:
    summaries = emu.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"]}


def noncurrent_days(s3, bucket: str) -> int:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"]


def test_bootstrap_deploy_update_destroy(tmp_path, record_property):
    timings: dict[str, float] = {}
    assembly = tmp_path / "cdk.out"
    start = time.monotonic()
    with Emulator() as emu:
        run = emu.bootstrap(app_dir=tmp_path)
        timings["bootstrap"] = run.seconds
        toolkit = emu.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"][0]
        assert {o["OutputKey"] for o in toolkit["Outputs"]} >= {"BucketName", "BootstrapVersion"}

        deployed = emu.deploy(FIXTURE_APP, context={"revision": 1}, output_dir=assembly)
        timings["deploy"] = deployed.seconds
        assert deployed.stacks == [STACK]
        gaps = {(lid, rtype) for lid, rtype, _ in deployed.unemulated[STACK]}
        assert gaps == {
            ("Pipeline", "AWS::SageMaker::Pipeline"),
            (_logical(emu, "DataBucketPolicy"), "AWS::S3::BucketPolicy"),
        }

        out = stack_outputs(emu)
        bucket, key_arn = out["BucketName"], out["KeyArn"]
        ids = physical_ids(emu)
        s3, kms, sm, iam = (emu.client(s) for s in ("s3", "kms", "sagemaker", "iam"))
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert encryption["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
        assert noncurrent_days(s3, bucket) == 30
        assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
        role_name = ids[_logical(emu, "ExecutionRole")]
        assert "sagemaker.amazonaws.com" in str(iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"])
        endpoint_name = ids["Endpoint"].rsplit("/", 1)[-1]
        endpoint = sm.describe_endpoint(EndpointName=endpoint_name)
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        assert config["KmsKeyId"] == key_arn
        assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
        model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert model["ExecutionRoleArn"].endswith(role_name)

        updated = emu.deploy(FIXTURE_APP, context={"revision": 2}, output_dir=assembly)
        timings["update"] = updated.seconds
        assert stack_outputs(emu)["BucketName"] == bucket, "the update must not replace the bucket"
        assert noncurrent_days(s3, bucket) == 60
        assert {"Key": "revision", "Value": "2"} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        reasons = {lid: reason for lid, _, reason in updated.unemulated[STACK]}
        assert "cannot update" in reasons[_logical(emu, "DataKey")], "the tag change on the key is reported"

        s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"a,b\n1,2\n")

        run = emu.destroy(FIXTURE_APP, app=str(assembly))
        timings["destroy"] = run.seconds
        stacks = {s["StackName"] for s in emu.client("cloudformation").describe_stacks()["Stacks"]}
        assert STACK not in stacks
        assert s3.get_object(Bucket=bucket, Key="raw/data.csv")["Body"].read() == b"a,b\n1,2\n"
        assert kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "Enabled"
        assert sm.list_endpoints()["Endpoints"] == []
        assert role_name not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    timings["total"] = time.monotonic() - start
    for name, seconds in timings.items():
        record_property(f"{name}_s", round(seconds, 1))
    print(f"emulator lifecycle (moto {MOTO_VERSION}): " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def _logical(emu: Emulator, prefix: str) -> str:
    """CDK appends a hash to construct ids; find the logical id by its readable prefix."""
    rows = emu.introspect(f"stacks/{STACK}")["resources"]
    (match,) = [r["logical_id"] for r in rows if re.fullmatch(prefix + "[0-9A-F]{8}", r["logical_id"])]
    return match
