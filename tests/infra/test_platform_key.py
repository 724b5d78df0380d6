"""PlatformKey: rotation on, alias set, never deleted with the stack, and a key policy of named principals."""

from __future__ import annotations

import re

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from constructs.platform_key import ADMIN_ONLY_ACTIONS, PlatformKey

from tests.infra.conftest import new_stack

ADMIN = "arn:aws:iam::111122223333:role/mlp-test-key-admin"
DEPLOYER = "arn:aws:iam::111122223333:role/cdk-hnb659fds-cfn-exec-role-111122223333-us-east-1"
USER = "arn:aws:iam::111122223333:role/mlp-test-training"


def _new_key(**kwargs) -> PlatformKey:
    props = {"alias": "mlp-test/data", "description": "test", "administrators": [iam.ArnPrincipal(ADMIN)]}
    return PlatformKey(new_stack(), "Key", **{**props, **kwargs})


def _key(**kwargs) -> tuple[PlatformKey, Template]:
    key = _new_key(**kwargs)
    return key, Template.from_stack(key.key.stack)


def _statements(template: Template) -> dict[str, dict]:
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    return {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}


def test_key_rotates_yearly_and_is_retained() -> None:
    _, template = _key()
    template.has_resource("AWS::KMS::Key", {
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": Match.object_like({"EnableKeyRotation": True, "RotationPeriodInDays": 365,
                                         "Description": "test"}),
    })
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlp-test/data"})


def test_key_policy_never_hands_the_key_to_the_whole_account() -> None:
    # GIVEN a key with an administrator, a deployer and one user
    _, template = _key(managers=[iam.ArnPrincipal(DEPLOYER)], users=[USER], grant_creators=[USER])
    statements = _statements(template)
    # THEN no statement allows kms:* (the CDK default) and every account-wide
    # statement is narrowed to named principals
    assert all("kms:*" not in s["Action"] for s in statements.values())
    for statement in statements.values():
        if "root" in str(statement["Principal"]):
            assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [USER]
    # AND only the administrator may disable or delete the key
    assert set(ADMIN_ONLY_ACTIONS) <= set(statements["KeyAdministration"]["Action"])
    assert not set(ADMIN_ONLY_ACTIONS) & set(statements["KeyManagementByDeployer"]["Action"])
    assert statements["KeyManagementByDeployer"]["Principal"] == {"AWS": DEPLOYER}
    # AND grants are for AWS resources only
    assert statements["GrantsForAwsResources"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_a_key_only_services_use_has_no_account_statement() -> None:
    _, template = _key()
    assert set(_statements(template)) == {"KeyAdministration"}


def test_a_key_without_administrator_is_refused() -> None:
    with pytest.raises(ValueError, match=r"at least one administrator"):
        _key(administrators=[])


def test_service_use_is_bound_to_the_source() -> None:
    # GIVEN a key a service uses with conditions
    key = _new_key()
    key.allow_service("logs.us-east-1.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": "1"}})
    statements = _statements(Template.from_stack(key.key.stack))
    # THEN the statement carries them and names actions exactly
    assert statements["AllowLogs"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "1"}}
    assert not any(a.endswith("*") for a in statements["AllowLogs"]["Action"])


def test_service_use_without_conditions_is_refused() -> None:
    key = _new_key()
    with pytest.raises(ValueError, match=re.escape("events.amazonaws.com needs conditions")):
        key.allow_service("events.amazonaws.com", conditions={})
