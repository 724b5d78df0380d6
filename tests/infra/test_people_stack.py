"""The people stack: personas, their groups, and the trust each identity source gets."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from constructs.privileged_use_alert import ASSUME_ROLE_CALLS
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

from stacks.config import ENVIRONMENTS, PERSONAS, ConfigError, PeopleConfig, PlatformConfig
from stacks.platform import Platform
from tests.infra.conftest import synth_platform, template
from tools.iam_evaluator import load_policies
from tools.iam_evaluator.contract import check_contract, getting_in_cases

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


#: The evaluated OIDC issuer is one iam-data knows (its ``<issuer>:aud`` key is listed for the action).
GOOGLE = f"arn:aws:iam::{DEV.account}:oidc-provider/accounts.google.com"
FEDERATED = {
    "saml": PeopleConfig(identity_provider_arn=SAML),
    "oidc": PeopleConfig(identity_provider_arn=GOOGLE, oidc_audience="ml-platform.apps.googleusercontent.com"),
    "identity-center": PeopleConfig(identity_center_instance_arn=SSO),
}


@pytest.fixture(scope="module")
def federated() -> dict[str, tuple[PlatformConfig, dict]]:
    """Per identity source: dev with it, and its people stack's template (one synth each)."""
    synthesized = {}
    for mode, people in FEDERATED.items():
        config = replace(DEV, people=people)
        _, platform = synth_platform(config)
        synthesized[mode] = (config, template(platform, "people").to_json())
    return synthesized


@pytest.mark.parametrize(
    ("mode", "action", "principal", "condition"),
    [
        ("saml", "sts:AssumeRoleWithSAML", {"Federated": SAML},
         {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}),
        ("oidc", "sts:AssumeRoleWithWebIdentity", {"Federated": GOOGLE},
         {"StringEquals": {"accounts.google.com:aud": "ml-platform.apps.googleusercontent.com"}}),
        ("identity-center", "sts:AssumeRole", {"AWS": f"arn:aws:iam::{DEV.account}:root"},
         {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{DEV.account}:role/aws-reserved/sso.amazonaws.com/"
                      "*AWSReservedSSO_mlp-dev-auditor_*"}}),
    ],
)
def test_a_named_identity_source_replaces_the_groups(federated, mode, action, principal, condition) -> None:
    # GIVEN dev with a federated identity source
    people = federated[mode][1]
    resources = people["Resources"].values()
    # THEN no group exists and each persona trusts only that source, with its audience or permission set
    assert [r for r in resources if r["Type"] == "AWS::IAM::Group"] == []
    (auditor,) = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Role"
                  and r["Properties"]["RoleName"] == DEV.role_name("auditor")]
    trust = auditor["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Action"], s["Principal"], s["Condition"]) for s in trust] == [
        (action, principal, condition), ("sts:SetSourceIdentity", principal, condition)]


#: Rows of each identity source: (allowed, denied).
FEDERATED_ROWS = {"saml": (5, 11), "oidc": (5, 11), "identity-center": (10, 8)}


@pytest.mark.parametrize("mode", sorted(FEDERATED))
def test_the_evaluator_lets_in_only_the_federated_source(platform_templates, federated, mode: str) -> None:
    # GIVEN dev's templates with the people stack of a federated identity source
    config, people = federated[mode]
    policies = load_policies({**platform_templates, "people": people}, account=config.account, region=config.region)
    # WHEN iam-simulate decides how people get in
    outcomes = check_contract(policies, getting_in_cases(policies, config))
    # THEN each persona admits the source's people (right audience, own permission set) and refuses the
    # rest: another audience, another provider, another persona's permission set, an IAM user with MFA
    assert [f"{o.case.why}: expected {o.case.expected}, got {o.decision.result}" for o in outcomes
            if not o.matches] == []
    counts = (sum(o.case.expected == "allow" for o in outcomes), sum(o.case.expected == "deny" for o in outcomes))
    assert counts == FEDERATED_ROWS[mode]


def test_the_readme_states_the_federated_row_counts() -> None:
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    rows = ", ".join(f"{mode} {a + d} ({a} allowed, {d} denied)" for mode, (a, d) in FEDERATED_ROWS.items())
    assert f"Evaluated for each identity source: {rows}" in readme


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


# ------------------------------------------------------------------ every privileged use is alerted

PRIVILEGED = [DEV.role_arn("platform-admin"), DEV.role_arn("key-admin"), DEV.role_arn("break-glass")]


def _rules(platform_templates: dict[str, dict]) -> dict[str, dict]:
    resources = platform_templates["people"]["Resources"].values()
    return {r["Properties"]["Name"]: r["Properties"] for r in resources if r["Type"] == "AWS::Events::Rule"}


def _cloudtrail_assume_role(role_arn: str, *, call: str = "AssumeRole", error: str | None = None) -> dict:
    """An STS AssumeRole record as CloudTrail sends it to EventBridge (abridged to the fields used)."""
    detail = {
        "eventVersion": "1.08", "eventSource": "sts.amazonaws.com", "eventName": call,
        "eventTime": "2026-12-02T16:00:00Z", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.22",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{DEV.account}:user/alice", "userName": "alice",
                         "accountId": DEV.account},
        "requestParameters": {"roleArn": role_arn, "roleSessionName": "alice", "sourceIdentity": "alice"},
    }
    if error:
        detail["errorCode"] = error
    return {"version": "0", "id": "1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sts",
            "account": DEV.account, "time": "2026-12-02T16:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail, "ingestion-time": 0}


def _console_switch(role_arn: str) -> dict:
    detail = {"eventSource": "signin.amazonaws.com", "eventName": "SwitchRole", "eventTime": "2026-12-02T16:01:00Z",
              "sourceIPAddress": "192.0.2.10", "userIdentity": {"type": "IAMUser", "userName": "alice",
                                                                "arn": f"arn:aws:iam::{DEV.account}:user/alice"},
              "additionalEventData": {"SwitchTo": role_arn}, "responseElements": {"SwitchRole": "Success"}}
    return {"version": "0", "id": "2", "detail-type": "AWS Console Sign In via CloudTrail", "source": "aws.signin",
            "account": DEV.account, "time": "2026-12-02T16:01:00Z", "region": "us-east-1", "resources": [],
            "detail": detail, "ingestion-time": 0}


def test_every_privileged_role_use_tells_the_alert_topic(platform_templates) -> None:
    rules = _rules(platform_templates)
    # THEN both rules target only the platform's alert topic, by a name its topic policy admits
    assert sorted(rules) == ["mlp-dev-privileged-role-assumed", "mlp-dev-privileged-role-console-switch"]
    for rule in rules.values():
        assert [t["Arn"] for t in rule["Targets"]] == [DEV.arn("sns", "mlp-dev-alerts")]
    # AND they name exactly the administrator, the key administrator and break-glass
    assert rules["mlp-dev-privileged-role-assumed"]["EventPattern"]["detail"]["requestParameters"] == {
        "roleArn": PRIVILEGED}
    assert rules["mlp-dev-privileged-role-console-switch"]["EventPattern"]["detail"]["additionalEventData"] == {
        "SwitchTo": PRIVILEGED}


@pytest.mark.parametrize("role", PRIVILEGED, ids=["platform-admin", "key-admin", "break-glass"])
def test_a_cloudtrail_assume_role_of_a_privileged_role_matches(platform_templates, role: str) -> None:
    rule = _rules(platform_templates)["mlp-dev-privileged-role-assumed"]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    # GIVEN CloudTrail's records WHEN EventBridge's pattern matcher (moto's) sees them
    # THEN every way into the role matches, refused attempts too
    for call in ASSUME_ROLE_CALLS:
        assert pattern.matches_event(_cloudtrail_assume_role(role, call=call))
    assert pattern.matches_event(_cloudtrail_assume_role(role, error="AccessDenied"))
    # AND the personas' everyday roles and other STS calls do not
    assert not pattern.matches_event(_cloudtrail_assume_role(DEV.role_arn("data-scientist")))
    assert not pattern.matches_event(_cloudtrail_assume_role(role, call="GetCallerIdentity"))


def test_a_console_switch_to_break_glass_matches(platform_templates) -> None:
    rule = _rules(platform_templates)["mlp-dev-privileged-role-console-switch"]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    assert pattern.matches_event(_console_switch(DEV.role_arn("break-glass")))
    assert not pattern.matches_event(_console_switch(DEV.role_arn("auditor")))


def test_the_alert_names_who_when_and_from_where(platform_templates) -> None:
    # GIVEN the assume-role rule's input transformer, applied by moto's EventBridge template parser
    (target,) = _rules(platform_templates)["mlp-dev-privileged-role-assumed"]["Targets"]
    transformer = target["InputTransformer"]
    event = _cloudtrail_assume_role(DEV.role_arn("break-glass"), error="AccessDenied")
    message = EventTemplateParser.parse(transformer["InputTemplate"], transformer["InputPathsMap"], event)
    # THEN the message says who assumed which role, when, from where, as whom, and whether it failed
    assert message["alert"] == (f"privileged role {DEV.role_arn('break-glass')} assumed by"
                                f" arn:aws:iam::{DEV.account}:user/alice at 2026-12-02T16:00:00Z")
    assert {k: message[k] for k in ("user", "source_identity", "source_ip", "error", "call")} == {
        "user": "alice", "source_identity": "alice", "source_ip": "192.0.2.10", "error": "AccessDenied",
        "call": "AssumeRole"}


def test_the_alert_topic_admits_the_rules_and_the_people_stack_deploys_after_it(dev_platform: Platform) -> None:
    # GIVEN the topic policy of the registry stack
    topic_policy = template(dev_platform, "registry").find_resources("AWS::SNS::TopicPolicy")
    (policy,) = topic_policy.values()
    (events_statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                           if s.get("Sid") == "PublishEvents"]
    # THEN the rules' ARNs fall under the names it admits
    admitted = events_statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert admitted == DEV.arn("events", "rule/mlp-dev-*")
    assert dev_platform.registry in dev_platform.people.dependencies
