"""Least privilege in every template: no wildcard actions, "*" only where AWS allows nothing narrower."""

from __future__ import annotations

import re

import pytest
from constructs.execution_role import NO_RESOURCE_LEVEL_ACTIONS


def _is_boundary(props: dict) -> bool:
    return str(props.get("ManagedPolicyName", "")).endswith("-permissions-boundary")


def identity_statements(templates: dict[str, dict]) -> list[tuple[str, str, dict]]:
    """(stack, logical id, statement) for every statement of every identity policy (not the boundary's)."""
    found = []
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            documents = []
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and not _is_boundary(props):
                documents.append(props["PolicyDocument"])
            if resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
                documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
            for document in documents:
                found += [(stack, logical_id, s) for s in document["Statement"]]
    return found


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_there_are_identity_policies_to_check(platform_templates: dict[str, dict]) -> None:
    assert len(identity_statements(platform_templates)) > 20


def test_no_identity_policy_has_a_wildcard_action(platform_templates: dict[str, dict]) -> None:
    offending = [
        (stack, logical_id, action)
        for stack, logical_id, statement in identity_statements(platform_templates)
        for action in _as_list(statement.get("Action", [])) + _as_list(statement.get("NotAction", []))
        if "*" in action
    ]
    assert offending == []


def test_star_resources_only_on_actions_without_resource_level_permissions(
    platform_templates: dict[str, dict],
) -> None:
    offending = [
        (stack, logical_id, statement.get("Sid"), action)
        for stack, logical_id, statement in identity_statements(platform_templates)
        if statement["Effect"] == "Allow" and "*" in _as_list(statement.get("Resource", []))
        for action in _as_list(statement["Action"])
        if action not in NO_RESOURCE_LEVEL_ACTIONS
    ]
    assert offending == []


def test_pass_role_always_names_the_service(platform_templates: dict[str, dict]) -> None:
    passes = [s for _, _, s in identity_statements(platform_templates)
              if "iam:PassRole" in _as_list(s["Action"])]
    assert passes
    for statement in passes:
        assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_no_aws_managed_policies_are_attached(platform_templates: dict[str, dict]) -> None:
    for template in platform_templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in resource["Properties"], resource["Properties"].get("Description")


@pytest.mark.parametrize("action", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                                    "sagemaker:CreateHyperParameterTuningJob"])
def test_job_launches_require_the_guardrails(platform_templates: dict[str, dict], action: str) -> None:
    # GIVEN every statement that allows launching a job
    launches = [s for _, _, s in identity_statements(platform_templates) if action in _as_list(s["Action"])]
    assert launches
    for statement in launches:
        conditions = statement["Condition"]
        # THEN the job must run isolated, encrypted with the platform's key, and in no VPC but the
        # platform's (dev runs jobs outside the VPC, so no Null check makes the VPC mandatory there)
        assert "Null" not in conditions
        assert set(conditions["ForAllValues:StringEquals"]) == {"sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"}
        assert conditions["Bool"]["sagemaker:NetworkIsolation"] == "true"
        assert conditions["Bool"]["sagemaker:InterContainerTrafficEncryption"] == "true"
        assert {"sagemaker:VolumeKmsKeyArn", "sagemaker:OutputKmsKeyArn"} <= set(conditions["ArnEquals"])
        # AND only name-scoped resources of this account and region
        for resource in _as_list(statement["Resource"]):
            assert re.fullmatch(r"arn:aws:sagemaker:us-east-1:111122223333:[a-z-]+/[a-z0-9-]*\*", resource)


# ------------------------------------------------------------------------- the permissions boundary


def test_every_role_carries_the_permissions_boundary(platform_templates: dict[str, dict]) -> None:
    from stacks.config import ENVIRONMENTS

    boundary = ENVIRONMENTS["dev"].permissions_boundary_arn
    roles = {f"{stack}/{logical_id}": resource["Properties"].get("PermissionsBoundary")
             for stack, template in platform_templates.items()
             for logical_id, resource in template["Resources"].items() if resource["Type"] == "AWS::IAM::Role"}
    assert len(roles) >= 12
    assert {name: arn for name, arn in roles.items() if arn != boundary} == {}


def test_the_boundary_allows_exactly_what_the_roles_are_granted(platform_templates: dict[str, dict]) -> None:
    # GIVEN the boundary and every identity policy of the platform
    (boundary,) = [r["Properties"]["PolicyDocument"] for t in platform_templates.values()
                   for r in t["Resources"].values()
                   if r["Type"] == "AWS::IAM::ManagedPolicy" and _is_boundary(r["Properties"])]
    allows = [s for s in boundary["Statement"] if s["Effect"] == "Allow"]
    granted = {a for _, _, s in identity_statements(platform_templates) if s["Effect"] == "Allow"
               for a in _as_list(s["Action"])}
    # THEN its one Allow names exactly the granted actions (no wildcard), and its denials stop escapes
    assert [sorted(s["Action"]) for s in allows] == [sorted(granted - {"sts:SetSourceIdentity"})]
    denied = {a for s in boundary["Statement"] if s["Effect"] == "Deny" for a in _as_list(s["Action"])}
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePermissionsBoundary",
            "iam:CreatePolicyVersion", "iam:CreateAccessKey", "iam:CreateUser"} <= denied
