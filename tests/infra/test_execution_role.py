"""ExecutionRole: explicit grants only, and the ones it refuses."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs.execution_role import MANAGED_POLICY_CHARS, ExecutionRole

from tests.infra.conftest import new_stack
from tests.infra.test_iam_quotas import longest_length

BUCKET = "arn:aws:s3:::mlp-dev-raw-111122223333-us-east-1"
KEY = "arn:aws:kms:us-east-1:111122223333:key/abc"


def _statements(stack) -> list[dict]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_trust_is_sagemaker_in_this_account_only() -> None:
    stack = new_stack()
    ExecutionRole(stack, "Role", description="test").grant_read(BUCKET, KEY)
    role = next(iter(Template.from_stack(stack).find_resources("AWS::IAM::Role").values()))
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    # no inline policies and no AWS managed policies: one customer-managed policy attached by the policy itself
    assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    assert len(policy["Properties"]["Roles"]) == 1


def test_read_grant_names_the_prefix_and_decrypts_only_through_s3() -> None:
    stack = new_stack()
    ExecutionRole(stack, "Role", description="test").grant_read(BUCKET, KEY, prefix="channels/")
    by_sid = {s["Sid"]: s for s in _statements(stack)}
    assert by_sid["ReadMlpDevRawChannels"]["Resource"] == f"{BUCKET}/channels/*"
    assert by_sid["ListMlpDevRawChannels"]["Condition"] == {"StringLike": {"s3:prefix": ["channels/*"]}}
    assert by_sid["DecryptMlpDevRawChannels"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert by_sid["DecryptMlpDevRawChannels"]["Action"] == "kms:Decrypt"


def test_pass_role_is_limited_to_sagemaker() -> None:
    stack = new_stack()
    job = ExecutionRole(stack, "Job", description="job")
    job.grant_read(BUCKET, KEY)
    launcher = ExecutionRole(stack, "Launcher", description="launcher")
    launcher.grant_pass_role([job])
    (passing,) = [s for s in _statements(stack) if s["Action"] == "iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert "*" not in str(passing["Resource"])


def test_wildcard_resource_is_acknowledged_with_its_reason_on_the_policy() -> None:
    # GIVEN a grant whose only possible resource is "*"
    role = ExecutionRole(new_stack(), "Role", description="test")
    role.grant_metrics("/aws/sagemaker/TrainingJobs")
    # THEN the exact IAM5 finding is acknowledged on the role's policy, with the reason naming the limit
    acknowledged = {}
    for entry in role.policy.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            acknowledged.update(entry.data)
    (finding,) = [k for k in acknowledged if k.endswith("AwsSolutions-IAM5[Resource::*]")]
    assert "cloudwatch:namespace" in acknowledged[finding]
    assert "ecr:GetAuthorizationToken" in acknowledged[finding]


def test_refuses_star_for_actions_that_have_resource_level_permissions() -> None:
    role = ExecutionRole(new_stack(), "Role", description="test")
    with pytest.raises(ValueError, match=r"Sid3: Resource '\*' only for actions without resource-level"
                                         r" permissions; name the ARNs of \['s3:GetObject'\]"):
        role.allow("Sid3", ["s3:GetObject", "ec2:DescribeVpcs"], ["*"], wildcard_reason="x" * 50)


def test_refuses_wildcard_actions() -> None:
    role = ExecutionRole(new_stack(), "Role", description="test")
    with pytest.raises(ValueError, match=r"Sid1: wildcard actions are never granted: \['s3:Get\*'\]"):
        role.allow("Sid1", ["s3:Get*"], [BUCKET])


def test_refuses_wildcard_resources_without_a_reason() -> None:
    role = ExecutionRole(new_stack(), "Role", description="test")
    with pytest.raises(ValueError, match=r"Sid2: resources .* contain '\*'; pass wildcard_reason"):
        role.allow("Sid2", ["s3:GetObject"], [f"{BUCKET}/*"])


def _acknowledged(policy) -> dict:
    found = {}
    for entry in policy.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            found.update(entry.data)
    return found


def test_grants_past_iams_6144_characters_spill_into_a_second_policy_of_the_same_role() -> None:
    # GIVEN a role granted read on 40 prefixes, with a key whose ARN is known only at deployment (a token)
    stack = new_stack()
    key = kms.Key(stack, "Key", removal_policy=cdk.RemovalPolicy.DESTROY).key_arn
    role = ExecutionRole(stack, "Role", description="test")
    for index in range(40):
        role.grant_read(BUCKET, key, prefix=f"prefix-{index:02d}/")
    # WHEN synthesized
    template = Template.from_stack(stack).to_json()
    policies = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    # THEN the statements are split over more than one policy, each attached to the role and within
    # IAM's quota with the key's ARN at its longest
    assert len(role.policies) == len(policies) >= 2
    role_ref = {"Ref": next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role")}
    for policy in policies.values():
        assert policy["Properties"]["Roles"] == [role_ref]
        assert longest_length(policy["Properties"]["PolicyDocument"], template["Resources"]) <= MANAGED_POLICY_CHARS
    # AND every grant is there once, in grant order
    sids = [s["Sid"] for s in _statements(stack)]
    assert sids[:3] == ["ReadMlpDevRawPrefix00", "ListMlpDevRawPrefix00", "DecryptMlpDevRawPrefix00"]
    assert len(sids) == len(set(sids)) == 120
    # AND the first policy keeps the logical ID it always had; each part acknowledges its own object wildcards
    assert sum(1 for logical_id in policies if logical_id.startswith("RolePolicy2")) == 1
    for policy in role.policies:
        assert any("IAM5[Resource::arn:aws:s3:::mlp-dev-raw" in finding for finding in _acknowledged(policy))


def test_a_single_statement_too_big_for_any_policy_is_refused_with_the_fix() -> None:
    role = ExecutionRole(new_stack(), "Role", description="test")
    prefixes = [f"{BUCKET}/a-long-prefix-for-object-number-{index:04d}/*" for index in range(120)]
    with pytest.raises(ValueError, match=r"Huge: one statement of up to \d+ characters cannot fit IAM's 6144 per"
                                         r" managed policy; split the grant$"):
        role.allow("Huge", ["s3:GetObject"], prefixes, wildcard_reason="x" * 50)
