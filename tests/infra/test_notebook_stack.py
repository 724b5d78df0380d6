"""The notebook stack: a VPC-only, encrypted, root-less notebook that may stop only itself."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from constructs.idle_notebook import PLATFORM_IDENTIFIER, IdleNotebook

from stacks.config import ENVIRONMENTS
from stacks.notebook_stack import WORKBENCH_ENDPOINTS, WORKSPACE_PREFIX
from stacks.platform import Platform
from tests.infra.conftest import new_stack, synth_platform, template


def test_notebook_is_isolated_encrypted_and_imdsv2_only(dev_platform: Platform) -> None:
    # GIVEN the dev platform WHEN the notebook stack is synthesized
    nb = template(dev_platform, "notebook")
    # THEN the one notebook has no internet, no root, an encrypted volume, IMDSv2 only,
    # the current platform, the notebook role, one isolated subnet and the workload SG
    nb.resource_count_is("AWS::SageMaker::NotebookInstance", 1)
    nb.has_resource_properties(
        "AWS::SageMaker::NotebookInstance",
        {
            "NotebookInstanceName": "mlp-dev-workbench",
            "InstanceType": "ml.t3.medium",
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "PlatformIdentifier": PLATFORM_IDENTIFIER,
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
            "KmsKeyId": Match.any_value(),
            "RoleArn": Match.any_value(),
            "SubnetId": Match.any_value(),
            "SecurityGroupIds": Match.any_value(),
            "LifecycleConfigName": {
                "Fn::GetAtt": [Match.string_like_regexp("LifecycleConfig"), "NotebookInstanceLifecycleConfigName"]
            },
        },
    )


def test_notebook_uses_the_guardrail_volume_key_and_workload_group(dev_platform: Platform) -> None:
    # GIVEN the notebook's template THEN its key and SG resolve to the platform's model key and workload SG
    props = next(iter(template(dev_platform, "notebook").find_resources("AWS::SageMaker::NotebookInstance").values()))[
        "Properties"
    ]
    assert "ModelKey" in str(props["KmsKeyId"])
    assert len(props["SecurityGroupIds"]) == 1
    assert "WorkloadSecurityGroup" in str(props["SecurityGroupIds"][0])
    assert "isolated" in str(props["SubnetId"]).lower()


def test_notebook_role_may_stop_only_its_own_notebook(dev_platform: Platform) -> None:
    # GIVEN the access stack WHEN the notebook stack has been added
    access = template(dev_platform, "access")
    # THEN the notebook role's policy names exactly that notebook for Stop/Describe
    access.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "StopOwnNotebookWhenIdle",
                            "Effect": "Allow",
                            "Action": ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"],
                            "Resource": "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/mlp-dev-workbench",
                        }
                    ]
                )
            }
        },
    )


def test_idle_notebook_refuses_idle_time_below_check_interval() -> None:
    # WHEN a notebook is built with 2 idle minutes THEN it is refused before any resource exists
    with pytest.raises(ValueError, match=r"idle_minutes=2: the idle check runs every 5 minutes"):
        IdleNotebook(
            new_stack(),
            "Nb",
            notebook_name="mlp-test-workbench",
            role_arn="arn:aws:iam::111122223333:role/nb",
            subnet_id="subnet-0123456789abcdef0",
            security_group_ids=["sg-0123456789abcdef0"],
            kms_key_id="arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            idle_minutes=2,
        )


def _interface_endpoints(platform: Platform, unit: str) -> list[dict]:
    endpoints = template(platform, unit).find_resources("AWS::EC2::VPCEndpoint").values()
    return [e["Properties"] for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]


def test_in_dev_the_workbench_brings_its_own_endpoints_in_its_az_only(dev_platform: Platform) -> None:
    # GIVEN dev, whose VPC keeps no interface endpoint on while nobody works
    assert _interface_endpoints(dev_platform, "network") == []
    # THEN the workbench unit brings what a notebook without internet needs, in its one subnet
    endpoints = _interface_endpoints(dev_platform, "notebook")
    assert len(endpoints) == len(WORKBENCH_ENDPOINTS)
    assert all(len(e["SubnetIds"]) == 1 and e["PrivateDnsEnabled"] for e in endpoints)


def test_in_prod_the_workbench_uses_the_networks_endpoints() -> None:
    # GIVEN prod, whose VPC keeps its endpoints on for the jobs in the VPC
    _, prod = synth_platform(ENVIRONMENTS["prod"])
    # THEN the workbench adds none, and the network has every one the workbench needs
    assert _interface_endpoints(prod, "notebook") == []
    assert set(WORKBENCH_ENDPOINTS) <= set(ENVIRONMENTS["prod"].network.interface_endpoints)


def test_the_workbench_keeps_the_users_files_in_the_raw_bucket(dev_platform: Platform) -> None:
    outputs = template(dev_platform, "notebook").find_outputs("WorkspaceUri")
    (output,) = outputs.values()
    assert output["Value"] == f"s3://{ENVIRONMENTS['dev'].bucket_name('raw')}/{WORKSPACE_PREFIX}mlp-dev-workbench/"


def test_the_notebook_runs_on_an_al2023_platform_botocore_lists() -> None:
    # GIVEN the platform identifiers SageMaker's service model accepts
    import re

    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    pattern = model.shape_for("PlatformIdentifier").metadata["pattern"]
    al2023 = sorted(re.findall(r"notebook-al2023-v\d+", pattern))
    # THEN the workbench uses an Amazon Linux 2023 one (botocore 1.44 lists v1 and v2; the pinned
    # CloudFormation schema accepts only v1 so far, see constructs/idle_notebook.py)
    assert PLATFORM_IDENTIFIER in al2023
    assert al2023[-1] == "notebook-al2023-v2"


def test_the_workbench_is_tagged_with_its_owner_only_when_one_is_named() -> None:
    from dataclasses import replace

    from stacks.config import PeopleConfig

    # GIVEN dev with and without a named workbench owner
    owned = replace(ENVIRONMENTS["dev"], people=PeopleConfig(workbench_owner="alice"))
    for config, expected in ((ENVIRONMENTS["dev"], None), (owned, "alice")):
        _, platform = synth_platform(config)
        (notebook,) = template(platform, "notebook").find_resources("AWS::SageMaker::NotebookInstance").values()
        tags = {t["Key"]: t["Value"] for t in notebook["Properties"].get("Tags", [])}
        # THEN the owner tag names the person, or is absent (nobody may open it)
        assert tags.get("owner") == expected
