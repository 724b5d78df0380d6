"""The registry stack: the model package group, its cross-account policy, and approval notifications."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aws_cdk.assertions import Match, Template

from stacks.config import ENVIRONMENTS
from stacks.platform import Platform
from stacks.registry_stack import group_policy
from tests.infra.conftest import synth_platform, template

GROUP_ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/mlp-dev-xgboost"
PACKAGES_ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package/mlp-dev-xgboost/*"
RULES = "arn:aws:events:us-east-1:111122223333:rule/mlp-dev-*"
ALARMS = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:mlp-dev-*"


@pytest.fixture(scope="module")
def shared_registry() -> Template:
    """The dev registry with two trusted accounts."""
    dev = ENVIRONMENTS["dev"]
    config = replace(dev, workloads=replace(dev.workloads, trusted_account_ids=("444455556666", "777788889999")))
    _, platform = synth_platform(config)
    return template(platform, "registry")


def test_group_is_named_for_the_pipeline_and_private_by_default(dev_platform: Platform) -> None:
    # GIVEN the default dev config (no trusted accounts) WHEN the registry is synthesized
    registry = template(dev_platform, "registry")
    # THEN the group has the name the pipeline registers into, no resource policy, and survives deletion
    registry.has_resource(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "Properties": {
                "ModelPackageGroupName": "mlp-dev-xgboost",
                "ModelPackageGroupPolicy": Match.absent(),
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_trusted_accounts_may_only_read_and_deploy(shared_registry: Template) -> None:
    # GIVEN two trusted accounts THEN the policy names them, and only read/deploy actions
    principals = {"AWS": ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"]}
    shared_registry.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "ModelPackageGroupPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TrustedAccountsReadGroup",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": ["sagemaker:DescribeModelPackageGroup"],
                        "Resource": GROUP_ARN,
                    },
                    {
                        "Sid": "TrustedAccountsDeployVersions",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": [
                            "sagemaker:CreateModel",
                            "sagemaker:DescribeModelPackage",
                            "sagemaker:ListModelPackages",
                        ],
                        "Resource": PACKAGES_ARN,
                    },
                ],
            }
        },
    )
    policy = str(shared_registry.find_resources("AWS::SageMaker::ModelPackageGroup"))
    for forbidden in ("UpdateModelPackage", "DeleteModelPackage", "PutModelPackageGroupPolicy", '*"'):
        assert forbidden not in policy


def test_approvals_of_this_group_notify_the_encrypted_topic(dev_platform: Platform) -> None:
    # GIVEN the dev registry
    registry = template(dev_platform, "registry")
    # THEN one rule matches Approved state changes of this group only, and targets the topic
    registry.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": "mlp-dev-model-approved",
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {"ModelPackageGroupName": ["mlp-dev-xgboost"], "ModelApprovalStatus": ["Approved"]},
            },
            "Targets": [{"Arn": {"Ref": Match.string_like_regexp("AlertsTopic")}, "Id": Match.any_value()}],
        },
    )
    # AND the topic is encrypted with the platform's logs key
    registry.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    assert "LogsKey" in str(registry.find_resources("AWS::SNS::Topic"))


def test_topic_policy_enforces_tls_and_names_its_publishers(dev_platform: Platform) -> None:
    # GIVEN the alert topic's policy
    registry = template(dev_platform, "registry")
    # THEN it denies plain HTTP and lets only this account's named alarms and rules publish
    registry.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Sid": "PublishCloudwatch",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "111122223333"},
                                    "ArnLike": {"aws:SourceArn": ALARMS},
                                },
                            }
                        ),
                        Match.object_like(
                            {
                                "Sid": "PublishEvents",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "111122223333"},
                                    "ArnLike": {"aws:SourceArn": RULES},
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )
    # AND no statement lets anyone else publish
    statements = next(iter(registry.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert all("Condition" in s for s in statements)


def test_logs_key_lets_the_publishers_encrypt(dev_platform: Platform) -> None:
    # GIVEN the data stack's keys THEN the logs key names both publishing services
    data = template(dev_platform, "data")
    key_policies = str(data.find_resources("AWS::KMS::Key"))
    assert "cloudwatch.amazonaws.com" in key_policies
    assert "events.amazonaws.com" in key_policies


@pytest.mark.parametrize("account", ["12345", "abcdefghijkl", "1234567890123"])
def test_malformed_trusted_account_is_refused(account: str) -> None:
    # WHEN a trusted account is not a 12-digit ID THEN the policy is refused, naming it
    with pytest.raises(ValueError, match=rf"trusted_account_ids \['{account}'\] must be 12-digit"):
        group_policy(GROUP_ARN, PACKAGES_ARN, ("444455556666", account))


def test_no_trusted_accounts_means_no_policy() -> None:
    # GIVEN no trusted accounts THEN the group gets no resource policy at all
    assert group_policy(GROUP_ARN, PACKAGES_ARN, ()) is None
