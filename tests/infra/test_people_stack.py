"""The people stack: personas, their groups, and the trust each identity source gets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from stacks.config import ENVIRONMENTS, PERSONAS, ConfigError, PeopleConfig
from stacks.platform import Platform
from tests.infra.conftest import synth_platform, template

DEV = ENVIRONMENTS["dev"]
SAML = f"arn:aws:iam::{DEV.account}:saml-provider/corp"
OIDC = f"arn:aws:iam::{DEV.account}:oidc-provider/login.example.com"
SSO = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


def _roles(platform: Platform) -> dict[str, dict]:
    roles = template(platform, "people").find_resources("AWS::IAM::Role")
    return {r["Properties"]["RoleName"]: r["Properties"] for r in roles.values()}


def test_each_persona_is_one_role_with_its_own_policies_and_a_group(dev_platform: Platform) -> None:
    people = template(dev_platform, "people")
    roles = _roles(dev_platform)
    # THEN five roles, each with customer-managed policies of its own (the data scientist's grants fill
    # two: IAM's 6,144 characters), five groups each with one policy, no user, no key
    assert sorted(roles) == sorted(DEV.role_name(p) for p in PERSONAS)
    policies = people.find_resources("AWS::IAM::ManagedPolicy").values()
    attached = [json.dumps(p["Properties"]["Roles"]) for p in policies if "Roles" in p["Properties"]]
    assert len(set(attached)) == 5 and all(len(p["Properties"]["Roles"]) == 1
                                           for p in policies if "Roles" in p["Properties"])
    assert sorted(attached.count(role) for role in set(attached)) == [1, 1, 1, 1, 2]
    assert len([p for p in policies if "Groups" in p["Properties"]]) == 5
    assert len(people.find_resources("AWS::IAM::Group")) == 5
    assert people.find_resources("AWS::IAM::User") == {}
    assert people.find_resources("AWS::IAM::AccessKey") == {}
    # AND the administrator's sessions are the shortest
    assert roles[DEV.role_name("platform-admin")]["MaxSessionDuration"] == 3600


def test_group_members_assume_with_recent_mfa_as_themselves(dev_platform: Platform) -> None:
    for role in _roles(dev_platform).values():
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            assert statement["Principal"] == {"AWS": f"arn:aws:iam::{DEV.account}:root"}
            assert statement["Condition"] == {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                "StringEquals": {"sts:SourceIdentity": "${aws:username}"},
            }


@pytest.mark.parametrize(
    ("people", "action", "principal", "condition"),
    [
        (PeopleConfig(identity_provider_arn=SAML), "sts:AssumeRoleWithSAML", {"Federated": SAML},
         {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}),
        (PeopleConfig(identity_provider_arn=OIDC, oidc_audience="ml-platform"), "sts:AssumeRoleWithWebIdentity",
         {"Federated": OIDC}, {"StringEquals": {"login.example.com:aud": "ml-platform"}}),
        (PeopleConfig(identity_center_instance_arn=SSO), "sts:AssumeRole", {"AWS": f"arn:aws:iam::{DEV.account}:root"},
         {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{DEV.account}:role/aws-reserved/sso.amazonaws.com/"
                      "*AWSReservedSSO_mlp-dev-auditor_*"}}),
    ],
    ids=["saml", "oidc", "identity-center"],
)
def test_a_named_identity_source_replaces_the_groups(people, action, principal, condition) -> None:
    # GIVEN dev with a federated identity source
    _, platform = synth_platform(replace(DEV, people=people))
    # THEN no group exists and each persona trusts only that source, with its audience or permission set
    assert template(platform, "people").find_resources("AWS::IAM::Group") == {}
    trust = _roles(platform)[DEV.role_name("auditor")]["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Action"], s["Principal"], s["Condition"]) for s in trust] == [
        (action, principal, condition), ("sts:SetSourceIdentity", principal, condition)]


@pytest.mark.parametrize(
    ("people", "message"),
    [
        (PeopleConfig(identity_provider_arn=SAML, identity_center_instance_arn=SSO), r"keep one identity source"),
        (PeopleConfig(identity_provider_arn="arn:aws:iam::444455556666:saml-provider/x"), r"provider of account"),
        (PeopleConfig(identity_provider_arn=OIDC), r"needs PeopleConfig.oidc_audience"),
        (PeopleConfig(identity_center_instance_arn="ssoins-1"), r"arn:aws:sso:::instance/ssoins-"),
        (PeopleConfig(mfa_max_age_seconds=60), r"mfa_max_age_seconds=60 must be 900-43200"),
        (PeopleConfig(session_hours=24), r"session_hours=24 must be 1-12"),
        (PeopleConfig(workbench_owner="a b"), r"workbench_owner 'a b' must be an IAM user name"),
    ],
)
def test_bad_people_settings_name_the_fix(people: PeopleConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(DEV, people=people)


def test_the_workbench_source_conditions_join_the_owner_condition() -> None:
    # GIVEN a workbench that may be opened only from the office and through one endpoint
    people = PeopleConfig(workbench_source_cidrs=("192.0.2.0/24",), workbench_source_vpce_ids=("vpce-0abc",))
    _, platform = synth_platform(replace(DEV, people=people))
    policies = template(platform, "people").find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
                    if s.get("Sid") == "OpenOwnNotebook"]
    # THEN the presigned URL needs the owner, the network and the endpoint at once
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/owner": "${aws:SourceIdentity}", "aws:SourceVpce": ["vpce-0abc"]},
        "IpAddress": {"aws:SourceIp": ["192.0.2.0/24"]},
    }
