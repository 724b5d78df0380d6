"""The workbench as SageMaker Studio (``WorkloadConfig.workbench="studio"``): the domain, its profiles,
who may open which, the four nag packs and the cost."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
import pytest
from constructs import compliance

from stacks.config import ENVIRONMENTS, ConfigError, PeopleConfig, WorkloadConfig
from stacks.platform import build_platform
from tests.infra.conftest import new_app
from tools import synth_report
from tools.cost.idle import idle_lines
from tools.cost.prices import prices_for
from tools.iam_evaluator import load_policies
from tools.iam_evaluator.condition_keys import unlisted_condition_keys
from tools.iam_evaluator.contract import ALLOW, DENY, Case, check_contract

DEV = ENVIRONMENTS["dev"]
PEOPLE = ("alice", "bob")
STUDIO = replace(DEV, workloads=replace(DEV.workloads, workbench="studio"),
                 people=replace(DEV.people, data_scientists=PEOPLE))
COST_TAGS = {"Project": "mlp", "Environment": "dev", "CostCenter": "ml-platform"}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """Dev with Studio, synthesized with all four packs registered (as `make synth`): the assembly and
    its templates by unit."""
    outdir = tmp_path_factory.mktemp("cdk.out-studio-")
    context = {**new_app().node.get_all_context(), "aws:cdk:enable-path-metadata": True}
    app = cdk.App(outdir=str(outdir), context=context)
    platform = build_platform(app, STUDIO)
    compliance.add_nag_packs(app)
    assembly = app.synth()  # raises on any unacknowledged finding
    templates = {s.stack_name.rsplit("-", 1)[-1]: assembly.get_stack_by_name(s.stack_name).template
                 for s in platform.stacks}
    return outdir, templates


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_the_four_packs_pass_with_studio(studio) -> None:
    summary = synth_report.summarize(studio[0])
    assert all(counts["unacknowledged"] == 0 for counts in summary["packs"].values())


def test_the_domain_is_vpc_only_encrypted_idle_stopping_and_retained(studio) -> None:
    notebook = studio[1]["notebook"]
    (domain,) = _of_type(notebook, "AWS::SageMaker::Domain").values()
    props = domain["Properties"]
    # THEN no internet but through the VPC, in the workbench's subnet, with its endpoints' security group rules
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AuthMode"] == "IAM"
    assert len(props["SubnetIds"]) == 1
    # AND the users' EFS volume is encrypted with the volume key the guardrails demand
    assert "ModelKey" in str(props["KmsKeyId"])
    # AND JupyterLab apps shut down after the configured idle time
    settings = props["DefaultUserSettings"]
    assert settings["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"] == {
        "LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": DEV.workloads.notebook_idle_minutes}
    assert "NotebookRole" in str(settings["ExecutionRole"])
    # AND deleting the stack keeps the domain and so the users' files
    assert (domain["DeletionPolicy"], domain["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # AND the notebook instance is gone
    assert _of_type(notebook, "AWS::SageMaker::NotebookInstance") == {}


def test_each_data_scientist_has_a_profile_tagged_as_theirs(studio) -> None:
    notebook = studio[1]["notebook"]
    profiles = {p["Properties"]["UserProfileName"]: p for p in _of_type(notebook, "AWS::SageMaker::UserProfile")
                .values()}
    assert sorted(profiles) == sorted(PEOPLE)
    (domain_id,) = _of_type(notebook, "AWS::SageMaker::Domain")
    for person, profile in profiles.items():
        props = profile["Properties"]
        assert props["DomainId"] == {"Fn::GetAtt": [domain_id, "DomainId"]}
        assert props["UserSettings"]["ExecutionRole"] == (
            notebook["Resources"][domain_id]["Properties"]["DefaultUserSettings"]["ExecutionRole"])
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        # AND it carries its owner and the cost-allocation tags
        assert tags == {"owner": person, **COST_TAGS}
        assert profile["DeletionPolicy"] == "Retain"
    (domain,) = _of_type(notebook, "AWS::SageMaker::Domain").values()
    assert {t["Key"]: t["Value"] for t in domain["Properties"]["Tags"]} == COST_TAGS
    assert domain["Properties"]["TagPropagation"] == "ENABLED"


def _profile(domain: str, person: str) -> str:
    return STUDIO.arn("sagemaker", f"user-profile/{domain}/{person}")


#: The Studio rows: (principal, action, resource, context, expected, why).
def _studio_rows() -> list[Case]:
    own = {"aws:ResourceTag/owner": "alice", "aws:SourceIdentity": "alice"}
    url = "sagemaker:CreatePresignedDomainUrl"
    return [
        Case("data-scientist", url, _profile("d-abc123", "alice"), own, ALLOW, "open their own Studio profile"),
        Case("data-scientist", "sagemaker:DescribeUserProfile", _profile("d-abc123", "alice"),
             {"aws:SourceIdentity": "alice"}, ALLOW, "read their own Studio profile"),
        Case("data-scientist", url, _profile("d-abc123", "bob"),
             {"aws:ResourceTag/owner": "bob", "aws:SourceIdentity": "alice"}, DENY, "open another person's profile"),
        Case("data-scientist", url, _profile("d-abc123", "alice"),
             {"aws:ResourceTag/owner": "bob", "aws:SourceIdentity": "alice"}, DENY,
             "open a profile named like them but owned by another person"),
        Case("data-scientist", url, _profile("d-abc123", "alice"), {"aws:SourceIdentity": "alice"}, DENY,
             "open a profile that names no owner"),
        Case("data-scientist", url, _profile("d-abc123", "alice"), {"aws:ResourceTag/owner": "alice"}, DENY,
             "open a profile from a session without a source identity"),
        Case("ml-engineer", url, _profile("d-abc123", "alice"), own, DENY, "open a data scientist's profile"),
        Case("auditor", url, _profile("d-abc123", "alice"), own, DENY, "open a data scientist's profile"),
        Case("model-approver", url, _profile("d-abc123", "alice"), own, DENY, "open a data scientist's profile"),
    ]


def test_only_the_data_scientist_opens_only_their_own_profile(studio) -> None:
    # GIVEN the Studio environment's concrete policies
    policies = load_policies(studio[1], account=STUDIO.account, region=STUDIO.region)
    # WHEN iam-simulate decides the Studio rows THEN each is what the contract says
    outcomes = check_contract(policies, _studio_rows())
    assert [f"{o.case.principal}: {o.case.why}: got {o.decision.result}" for o in outcomes if not o.matches] == []
    assert (sum(o.case.expected == ALLOW for o in outcomes), sum(o.case.expected == DENY for o in outcomes)) == (2, 7)
    # AND every condition key of the people stack is one the reference lists for its action
    people = [(name, statement) for name, statement in policies.statements() if name.startswith("people/")]
    assert people and [str(f) for f in unlisted_condition_keys(people)] == []


def test_studio_costs_nothing_idle_but_its_stored_bytes(studio) -> None:
    lines = {line.resource_type: line for line in idle_lines(studio[1], prices_for(STUDIO.region))}
    assert lines["AWS::SageMaker::Domain"].usd_per_month == 0.0
    assert "EFS volume is billed per GB stored" in lines["AWS::SageMaker::Domain"].item
    assert lines["AWS::SageMaker::UserProfile"].usd_per_month == 0.0


@pytest.mark.parametrize(
    ("workloads", "people", "message"),
    [
        (WorkloadConfig(workbench="studio"), PeopleConfig(), r"needs the data scientists' names"),
        (WorkloadConfig(workbench="lab"), PeopleConfig(), r"workbench 'lab' must be one of notebook, studio"),
        (WorkloadConfig(workbench="studio", notebook_idle_minutes=30), PeopleConfig(data_scientists=("alice",)),
         r"notebook_idle_minutes=30 is below Studio's idle shutdown minimum of 60"),
        (WorkloadConfig(), PeopleConfig(data_scientists=("alice.smith",)), r"must be Studio user profile names"),
    ],
)
def test_bad_studio_settings_name_the_fix(workloads, people, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(DEV, workloads=workloads, people=people)
