"""IAM decisions by a real policy evaluator (iam-simulate) on the synthesized templates of dev and prod.

The access contract (tools/iam_evaluator/contract.py) lists what each
principal must be allowed and what must be denied; every row of both
environments is decided in one Node process per environment.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from constructs.sagemaker_guardrails import (
    Guardrails,
    endpoint_config_conditions,
    job_conditions,
    model_conditions,
    notebook_conditions,
)

from stacks.config import ENVIRONMENTS
from stacks.registry_stack import group_policy
from tools.cli import guarded
from tools.iam_evaluator import EvaluatorError, NamedPolicy, UnresolvedIntrinsic, decide, decide_all, load_policies
from tools.iam_evaluator.__main__ import format_summary, main
from tools.iam_evaluator.condition_keys import operator_base, unlisted_condition_keys
from tools.iam_evaluator.contract import PRINCIPALS, SAGEMAKER, Outcome, check_contract, platform_cases
from tools.iam_evaluator.decide import Request
from tools.iam_evaluator.perimeter import PEOPLE
from tools.iam_evaluator.policies import PlatformPolicies
from tools.iam_evaluator.synth import environment_templates

ACCOUNT, REGION = "111122223333", "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/example"
JOB = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/pipelines-abc"
HANDWRITTEN = f"arn:aws:iam::{ACCOUNT}:role/Handwritten"


@pytest.fixture(scope="module")
def environments(platform_templates: dict[str, dict]) -> dict[str, tuple[PlatformPolicies, list[Outcome]]]:
    """Per environment: its concrete policies and every contract row decided (one evaluator run each)."""
    evaluated = {}
    for name, config in ENVIRONMENTS.items():
        templates = platform_templates if name == "dev" else environment_templates(config)
        policies = load_policies(templates, account=config.account, region=config.region)
        evaluated[name] = (policies, check_contract(policies, platform_cases(policies, config)))
    return evaluated


# ------------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
@pytest.mark.parametrize("principal", sorted({**PRINCIPALS, **PEOPLE}))
def test_each_principal_is_allowed_its_work_and_denied_the_rest(environments, env: str, principal: str) -> None:
    # GIVEN the contract rows of one principal
    outcomes = [o for o in environments[env][1] if o.case.principal == principal]
    # THEN it has work to do and limits to hit
    assert {o.case.expected for o in outcomes} == {"allow", "deny"}
    # WHEN iam-simulate decides them THEN every decision is the contract's
    mismatches = [f"{o.case.why}: expected {o.case.expected}, got {o.decision.result}"
                  for o in outcomes if not o.matches]
    assert mismatches == []


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_services_are_held_to_this_account_by_trust_and_resource_policies(environments, env: str) -> None:
    outcomes = [o for o in environments[env][1]
                if o.case.principal not in {**PRINCIPALS, **PEOPLE} and not o.case.principal.startswith("arn:")]
    assert {o.case.action for o in outcomes} == {"sts:AssumeRole", "sns:Publish", "kms:GenerateDataKey"}
    assert [f"{o.case.principal}: {o.case.why}" for o in outcomes if not o.matches] == []


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_the_contract_covers_every_role_of_the_templates(environments, env: str) -> None:
    # GIVEN the roles the templates create WHEN one is added THEN it needs its rows in the contract
    policies = environments[env][0]
    # (a CDK logical ID is the construct path and an 8-character hash)
    assert sorted(r.logical_id[:-8] for r in policies.roles) == sorted([*PRINCIPALS.values(), *PEOPLE.values()])


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_the_data_perimeter_refuses_principals_the_platform_does_not_name(environments, env: str) -> None:
    # GIVEN the rows of principals outside the platform's roles: an account admin with * on *,
    # the deployer, another account
    outcomes = [o for o in environments[env][1] if o.case.principal.startswith("arn:")]
    admin_denials = [o for o in outcomes if o.case.why.startswith("an account admin with *")]
    # THEN the keys and buckets deny the admin every data action, with their own policies
    assert len(admin_denials) >= 7
    assert all(not o.decision.allowed and o.decision.resource_policy for o in admin_denials)
    # AND every row (the control row allowed elsewhere included) is what the contract says
    assert [f"{o.case.why}: got {o.decision.result}" for o in outcomes if not o.matches] == []


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_every_guardrail_broken_alone_denies_the_launch(environments, env: str) -> None:
    # GIVEN the launches by the pipeline: one compliant, then one guardrail broken per row
    launches = [
        o for o in environments[env][1]
        if o.case.principal == "pipeline" and o.case.action == "sagemaker:CreateTrainingJob"
    ]
    compliant = next(o for o in launches if o.case.why.endswith("within the guardrails"))
    broken = [o for o in launches if o.case.expected == "deny"]
    # THEN the compliant launch is allowed and every launch breaking a single guardrail is denied
    assert compliant.decision.allowed
    # (dev runs jobs outside the VPC: there a missing VPC is the compliant case, not a broken one)
    assert len(broken) >= (13 if ENVIRONMENTS[env].network.jobs_in_vpc else 11)
    assert not [o.case.why for o in broken if o.decision.allowed]


def test_a_bucket_policy_deny_wins_over_the_identity_allow(environments) -> None:
    # GIVEN the processing role, allowed to read raw data, reading it without TLS
    outcome = next(o for o in environments["dev"][1] if o.case.why == "read raw data without TLS")
    # THEN the bucket policy's TLS statement denies it explicitly
    assert outcome.decision.result == "ExplicitlyDenied"
    assert outcome.decision.resource_policy == "data/RawDataBucketPolicyF2874E7D"


def test_the_summary_counts_every_row(environments) -> None:
    outcomes = environments["dev"][1]
    text = format_summary("dev", outcomes, 1.0)
    assert text.splitlines()[0] == f"dev: {len(outcomes)} cases decided by iam-simulate in 1.00 s"
    assert re.search(r"^  pipeline +\d+ +\d+ +0$", text, re.MULTILINE)


def test_the_readme_states_the_row_counts_the_evaluator_decides(environments) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    dev, prod = len(environments["dev"][1]), len(environments["prod"][1])
    assert f"{dev} rows in dev and {prod} in prod, zero mismatches" in readme
    assert f"{dev} API calls in dev and {prod} in prod" in " ".join(readme.split())


# ----------------------------------------------------------------------- condition keys exist


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_every_condition_key_is_listed_for_the_action_it_guards(environments, env: str) -> None:
    # GIVEN every identity, trust, key, bucket and topic policy statement of the environment
    policies = environments[env][0]
    statements = list(policies.statements())
    assert {name.split("/")[0] for name, _ in statements} >= {"access", "data", "registry"}
    # THEN each non-global condition key is one iam-data lists for the statement's actions
    assert [str(f) for f in unlisted_condition_keys(statements)] == []


def test_the_guardrail_conditions_use_keys_listed_for_their_actions() -> None:
    # GIVEN every condition set sagemaker_guardrails builds, on the actions it is meant for
    g = Guardrails(subnet_ids=["subnet-a"], security_group_ids=["sg-a"], volume_key_arn=KEY, output_key_arn=KEY,
                   data_key_arn=KEY)
    uses = {
        "sagemaker:CreateTrainingJob": job_conditions(g),
        "sagemaker:CreateProcessingJob": job_conditions(g, data_outputs=True),
        "sagemaker:CreateHyperParameterTuningJob": job_conditions(g),
        "sagemaker:CreateModel": model_conditions(g),
        "sagemaker:CreateEndpointConfig": endpoint_config_conditions(g),
        "sagemaker:CreateNotebookInstance": notebook_conditions(g),
    }
    statements = [(action, {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": conditions})
                  for action, conditions in uses.items()]
    # THEN iam-data lists each of their keys for that action
    assert [str(f) for f in unlisted_condition_keys(statements)] == []


def test_the_group_policy_is_checked_too() -> None:
    # GIVEN the cross-account policy of the model package group (no environment sets trusted accounts yet)
    document = group_policy("arn:aws:sagemaker:us-east-1:111122223333:model-package-group/g",
                            "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/*", ("444455556666",))
    statement = {**document["Statement"][1], "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "x"}}}
    # WHEN a condition on a key some of its actions do not take is added THEN the check names those actions
    found = {f.action for f in unlisted_condition_keys([("group", statement)])}
    assert found == {"sagemaker:CreateModel", "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"}


def test_unknown_operators_and_global_keys_are_reported() -> None:
    statement = {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                 "Condition": {"ForAnyValue:StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"},
                               "StringEqualz": {"aws:SecureTransport": "false"}, "Bool": {"aws:SecureTransprt": "x"}}}
    assert operator_base("ForAllValues:ArnLikeIfExists") == "ArnLike"
    assert sorted(str(f).split(": ", 1)[1] for f in unlisted_condition_keys([("handwritten", statement)])) == [
        "StringEqualz: not an IAM condition operator",
        "aws:SecureTransprt: not a global condition key",
    ]


# ----------------------------------------------------------------- the evaluator is the real one


def _launch_statement(volume_key: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": JOB,
        "Condition": {"ArnEquals": {volume_key: KEY}}}]}


def test_a_deprecated_key_denies_what_it_was_meant_to_allow(environments) -> None:
    # GIVEN hand-written policies pinning the volume key, one with the deprecated key name
    policies = environments["dev"][0]
    launch = Request(HANDWRITTEN, "sagemaker:CreateTrainingJob", JOB, {"sagemaker:VolumeKmsKeyArn": KEY})
    deprecated, listed = decide_all(policies, [
        replace(launch, identity_policies=(_launch_statement("sagemaker:VolumeKmsKey"),)),
        replace(launch, identity_policies=(_launch_statement("sagemaker:VolumeKmsKeyArn"),)),
    ])
    # THEN as in AWS the request never carries the deprecated key, so its Allow never matches
    assert deprecated.result == "ImplicitlyDenied"
    assert listed.result == "Allowed"
    # AND the condition-key check names it
    assert [f.key for f in unlisted_condition_keys([("handwritten", _launch_statement("sagemaker:VolumeKmsKey")
                                                     ["Statement"][0])])] == ["sagemaker:VolumeKmsKey"]


def test_a_key_policy_that_does_not_trust_the_account_overrides_the_identity_allow(environments) -> None:
    # GIVEN the processing role, allowed kms:Decrypt through S3, and a key policy naming another principal only
    policies = environments["dev"][0]
    role = policies.role(PRINCIPALS["processing"]).arn
    key = policies.attribute_of("AWS::KMS::Key", "data", "DataKey")
    closed = NamedPolicy("closed", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}, "Action": "kms:*",
        "Resource": "*"}]})
    context = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    # WHEN decided with the template's key policy, then with the closed one
    default = decide(policies, role, "kms:Decrypt", key, context)
    overridden = decide(policies, role, "kms:Decrypt", key, context, resource_policy_of=lambda arn: closed)
    # THEN the template's key policy (the account, narrowed to the platform's roles) lets the identity
    # policy decide for this role; the closed one does not
    assert (default.result, default.resource_policy) == ("Allowed", "data/DataKey2A0DE9E6")
    assert (overridden.result, overridden.resource_policy) == ("ImplicitlyDenied", "closed")


def test_a_principal_outside_the_templates_brings_its_identity_policies(environments) -> None:
    # GIVEN an administrator of the account, allowed everything by its identity policy
    policies = environments["dev"][0]
    admin_arn = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    raw = f"arn:aws:s3:::{ENVIRONMENTS['dev'].bucket_name('raw')}/input/x.csv"
    elsewhere = f"arn:aws:s3:::somebody-elses-bucket-{ACCOUNT}/x.csv"
    # WHEN it reads an object of a bucket the templates do not guard, and raw data without TLS
    unguarded, raw_without_tls = decide_all(policies, [
        Request(admin_arn, "s3:GetObject", elsewhere, identity_policies=(admin,)),
        Request(admin_arn, "s3:GetObject", raw, {"aws:SecureTransport": False}, identity_policies=(admin,)),
    ])
    # THEN its identity policy decides the first; the raw bucket's policy denies the second
    assert (unguarded.result, unguarded.resource_policy) == ("Allowed", None)
    assert (raw_without_tls.result, raw_without_tls.resource_policy) == (
        "ExplicitlyDenied", "data/RawDataBucketPolicyF2874E7D")
    # AND without identity policies it is refused rather than guessed
    with pytest.raises(EvaluatorError, match=r"role/Admin is not a role of the templates; pass identity_policies"):
        decide(policies, admin_arn, "s3:GetObject", raw)


# ------------------------------------------------------------------------------- bad input


def test_a_context_key_aws_would_not_send_is_refused(environments) -> None:
    role = environments["dev"][0].role(PRINCIPALS["pipeline"]).arn
    with pytest.raises(EvaluatorError, match=r"lists no context keys \['sagemaker:VolumeKmsKey'\] for this action"):
        decide(environments["dev"][0], role, "sagemaker:CreateTrainingJob", JOB, {"sagemaker:VolumeKmsKey": KEY})


def test_a_list_for_a_single_valued_key_is_refused(environments) -> None:
    role = environments["dev"][0].role(PRINCIPALS["pipeline"]).arn
    with pytest.raises(EvaluatorError, match=r"sagemaker:VolumeKmsKeyArn are single-valued; pass one string"):
        decide(environments["dev"][0], role, "sagemaker:CreateTrainingJob", JOB, {"sagemaker:VolumeKmsKeyArn": [KEY]})


def test_an_unknown_action_is_refused(environments) -> None:
    role = environments["dev"][0].role(PRINCIPALS["pipeline"]).arn
    with pytest.raises(EvaluatorError, match=r"iam-simulate refused .* sagemaker:CreateTrainingJobs .*invalid\.action"):
        decide(environments["dev"][0], role, "sagemaker:CreateTrainingJobs", JOB)


def _template(statement_resource) -> dict[str, dict]:
    return {"access": {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": SAGEMAKER},
                                                   "Action": "sts:AssumeRole"}]}}},
        "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": statement_resource}]}}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }}}


@pytest.mark.parametrize(("resource", "message"), [
    ({"Fn::If": ["IsProd", "a", "b"]}, r"access: .*Fn::If is not resolved by tools/iam_evaluator/resolve\.py"),
    ({"Fn::GetAtt": ["Queue", "Arn"]}, r"access: Queue is a AWS::SQS::Queue, whose physical ID .* add the type"),
    ({"Fn::GetStackOutput": {"StackName": "MlPlatform-dev-data", "OutputName": "KeyArn"}},
     r"stack MlPlatform-dev-data is referenced but not among the templates \['access'\]"),
])
def test_an_intrinsic_that_cannot_be_resolved_fails_with_one_message(resource, message: str) -> None:
    with pytest.raises(UnresolvedIntrinsic, match=message):
        load_policies(_template(resource), account=ACCOUNT, region=REGION)


def test_resolution_is_consistent_across_stacks(environments) -> None:
    # GIVEN the pipeline role's policy, which names the model key through a cross-stack output
    policies = environments["dev"][0]
    document = policies.role(PRINCIPALS["pipeline"]).identity_policies[0].document
    grant = next(s for s in document["Statement"] if s["Sid"] == "VolumeKeyGrant")
    # THEN it is the ARN the data stack's key resolves to
    assert grant["Resource"] == policies.attribute_of("AWS::KMS::Key", "data", "ModelKey")


def test_the_cli_refuses_an_unknown_environment(capsys) -> None:
    assert guarded(main, ["--env", "staging"]) == 2
    assert re.search(r"^error: argument --env: invalid choice: 'staging'", capsys.readouterr().err)
