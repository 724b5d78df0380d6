"""The data perimeter's wiring: fixed role names, and key and bucket policies that name those roles.

Whether the policies decide as intended is proven by the IAM evaluator tests;
these tests check that the names on both sides agree.
"""

from __future__ import annotations

import pytest

from stacks import perimeter
from stacks.config import ENVIRONMENTS
from stacks.platform import Platform
from tests.infra.conftest import synth_platform

CONFIG = ENVIRONMENTS["dev"]


def _resources(templates: dict[str, dict], kind: str) -> dict[str, dict]:
    return {
        logical_id: resource
        for template in templates.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def test_every_platform_role_has_the_name_the_perimeter_uses(platform_templates: dict[str, dict]) -> None:
    names = {r["Properties"].get("RoleName") for r in _resources(platform_templates, "AWS::IAM::Role").values()}
    expected = {CONFIG.role_name(purpose) for purpose in (*perimeter.PLATFORM_ROLES, "key-admin", "break-glass")}
    assert expected <= names


def _key_policy(templates: dict[str, dict], alias: str) -> list[dict]:
    aliases = _resources(templates, "AWS::KMS::Alias")
    target = next(a["Properties"]["TargetKeyId"]["Fn::GetAtt"][0] for a in aliases.values()
                  if a["Properties"]["AliasName"] == f"alias/{CONFIG.prefix}/{alias}")
    return templates["data"]["Resources"][target]["Properties"]["KeyPolicy"]["Statement"]


@pytest.mark.parametrize("key", ["data", "models"])
def test_each_key_admits_exactly_its_users(platform_templates: dict[str, dict], key: str) -> None:
    statements = {s["Sid"]: s for s in _key_policy(platform_templates, key)}
    users = statements["KeyUseByPlatformRoles"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert users == sorted(perimeter.key_users(CONFIG, key))
    assert CONFIG.break_glass_role_arn in users
    # The hosting role never touches raw or processed data.
    assert (CONFIG.role_arn("hosting") in users) == (key == "models")


def test_the_logs_key_admits_only_the_retraining_guard_and_bound_services(platform_templates: dict[str, dict]) -> None:
    # The guard publishes its decisions to the alert topic, which the logs key encrypts; no job role uses it.
    statements = _key_policy(platform_templates, "logs")
    (use,) = [s for s in statements if s["Sid"] == "KeyUseByPlatformRoles"]
    assert sorted(use["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == sorted(
        [CONFIG.role_arn("retrain-guard"), CONFIG.break_glass_role_arn])
    for statement in statements:
        if "Service" in statement["Principal"]:
            assert statement["Condition"], statement["Sid"]


def test_people_assume_the_perimeter_roles_with_mfa_only(platform_templates: dict[str, dict]) -> None:
    for role in _resources(platform_templates, "AWS::IAM::Role").values():
        if role["Properties"].get("RoleName") in (CONFIG.role_name("key-admin"), CONFIG.role_name("break-glass")):
            trust, *platform_admin = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            assert role["Properties"]["MaxSessionDuration"] == 3600
            # AND only the key administrator also admits the platform administrator persona, by its ARN
            if role["Properties"]["RoleName"] == CONFIG.role_name("key-admin"):
                (admin,) = platform_admin
                assert admin["Condition"] == {"ArnEquals": {"aws:PrincipalArn": CONFIG.role_arn("platform-admin")}}
            else:
                assert platform_admin == []


def test_configured_roles_replace_the_created_ones() -> None:
    # GIVEN an environment that brings its own key administrator and break-glass role
    from dataclasses import replace

    from stacks.config import PerimeterConfig

    admin = "arn:aws:iam::111122223333:role/security/key-admin"
    glass = "arn:aws:iam::111122223333:role/security/break-glass"
    config = replace(CONFIG, perimeter=PerimeterConfig(key_admin_role_arn=admin, break_glass_role_arn=glass))
    # WHEN synthesized
    _, platform = synth_platform(config)
    template = _data_template(platform)
    # THEN the data stack creates neither role and its policies name the given ones
    names = {r["Properties"].get("RoleName") for r in template["Resources"].values()
             if r["Type"] == "AWS::IAM::Role"}
    assert not names & {config.role_name("key-admin"), config.role_name("break-glass")}
    assert admin in str(template) and glass in str(template)


def _data_template(platform: Platform) -> dict:
    from aws_cdk.assertions import Template

    return Template.from_stack(platform.data).to_json()


def test_the_logs_service_is_bound_to_this_accounts_log_groups(platform_templates: dict[str, dict]) -> None:
    # The evaluator cannot match kms:EncryptionContext:* keys (see tools/iam_evaluator/contract.py), so
    # the binding CloudWatch Logs documents is checked on the statement itself.
    (logs,) = [s for s in _key_policy(platform_templates, "logs") if s["Sid"] == "AllowLogs"]
    assert logs["Principal"] == {"Service": f"logs.{CONFIG.region}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{CONFIG.region}:{CONFIG.account}:log-group:*"}
    }
    assert "kms:DescribeKey" not in logs["Action"]
