"""IAM's size quotas on every policy the platform synthesizes, in dev and prod.

A policy over its quota synthesizes and passes every nag pack, then fails the
deployment ("Cannot exceed quota for PolicySize"). IAM counts characters
without white space ("IAM and AWS STS quotas"): a customer-managed policy
holds at most 6,144, a role's inline policies together 10,240, a role trust
policy 2,048 (the default quota), and a role takes at most 10 managed
policies. Each intrinsic is counted at the longest value it can take once
deployed, so a policy that passes here fits in any account and region.
"""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from stacks.config import ENVIRONMENTS
from tests.infra.conftest import synth_platform

MANAGED_POLICY_CHARS = 6_144
INLINE_POLICIES_PER_ROLE_CHARS = 10_240
TRUST_POLICY_CHARS = 2_048
MANAGED_POLICIES_PER_ROLE = 10

ARN_OF = {  # the longest ARN (GetAtt Arn) and Ref of each resource type the policies name
    "AWS::KMS::Key": ("arn:aws-us-gov:kms:ap-southeast-3:123456789012:key/" + "k" * 36, "k" * 36),
    "AWS::S3::Bucket": ("arn:aws-us-gov:s3:::" + "b" * 63, "b" * 63),
    "AWS::IAM::Role": ("arn:aws-us-gov:iam::123456789012:role/" + "r" * 64, "r" * 64),
    "AWS::EC2::Subnet": ("", "subnet-" + "0" * 17),
    "AWS::EC2::SecurityGroup": ("", "sg-" + "0" * 17),
    "AWS::EC2::VPC": ("", "vpc-" + "0" * 17),
}
PSEUDO = {"AWS::AccountId": 12, "AWS::Region": 14, "AWS::Partition": 10, "AWS::URLSuffix": 16}
ANY_VALUE = 256  # any other reference: longer than any ARN the platform's policies name


def longest_length(value, resources: dict, stacks: dict | None = None) -> int:
    """Characters of ``value`` as IAM counts them, each intrinsic at its longest deployed value.

    ``stacks`` (stack name -> template) resolves ``Fn::GetStackOutput``, CDK's weak
    cross-stack reference, to the producing stack's output.
    """
    if isinstance(value, str):
        return len(json.dumps(value))
    if isinstance(value, (int, float, bool)) or value is None:
        return len(json.dumps(value))
    if isinstance(value, list):
        return 2 + sum(longest_length(v, resources, stacks) for v in value) + max(len(value) - 1, 0)
    if len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            if argument in PSEUDO:
                return 2 + PSEUDO[argument]
            return 2 + len(ARN_OF.get(resources.get(argument, {}).get("Type"), ("", "x" * ANY_VALUE))[1])
        if function == "Fn::GetAtt":
            kind = resources.get(argument[0], {}).get("Type")
            return 2 + (len(ARN_OF[kind][0]) if kind in ARN_OF and argument[1] == "Arn" else ANY_VALUE)
        if function == "Fn::Join":
            separator, parts = argument
            inner = sum(longest_length(p, resources, stacks) - 2 for p in parts) + len(separator) * (len(parts) - 1)
            return 2 + inner
        if function == "Fn::GetStackOutput" and stacks and argument.get("StackName") in stacks:
            producer = stacks[argument["StackName"]]
            output = producer["Outputs"][argument["OutputName"]]["Value"]
            return longest_length(output, producer.get("Resources", {}), stacks)
        if function.startswith("Fn::"):
            return 2 + ANY_VALUE
    members = sum(len(json.dumps(k)) + 1 + longest_length(v, resources, stacks) for k, v in value.items())
    return 2 + members + max(len(value) - 1, 0)


@pytest.fixture(scope="module")
def templates(dev_platform) -> dict[str, dict]:
    """Every stack of dev and prod, by stack name."""
    _, prod = synth_platform(ENVIRONMENTS["prod"])
    return {s.stack_name: Template.from_stack(s).to_json() for p in (dev_platform, prod) for s in p.stacks}


def _of_type(templates: dict[str, dict], kind: str):
    for stack, template in templates.items():
        resources = template.get("Resources", {})
        for logical_id, resource in resources.items():
            if resource["Type"] == kind:
                yield f"{stack}/{logical_id}", resource.get("Properties", {}), resources


def test_the_estimate_counts_a_literal_policy_exactly_and_an_intrinsic_at_its_longest():
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                        "Resource": "arn:aws:s3:::b/*"}]}
    assert longest_length(document, {}) == len(json.dumps(document, separators=(",", ":")))
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::b"]]}
    assert longest_length(joined, {}) == len('"arn:aws-us-gov:s3:::b"')


def test_every_managed_policy_fits_iams_6144_characters(templates):
    sizes = {name: longest_length(props["PolicyDocument"], resources, templates)
             for name, props, resources in _of_type(templates, "AWS::IAM::ManagedPolicy")}
    assert sizes, "no managed policy found"
    over = {name: size for name, size in sizes.items() if size > MANAGED_POLICY_CHARS}
    assert not over, f"managed policies over IAM's {MANAGED_POLICY_CHARS} characters: {over}"


def test_every_roles_inline_policies_fit_10240_characters_and_its_trust_2048(templates):
    inline: dict[str, int] = {}
    for name, props, resources in _of_type(templates, "AWS::IAM::Policy"):
        for role in props.get("Roles", []):
            key = f"{name.split('/')[0]}/{json.dumps(role)}"
            inline[key] = inline.get(key, 0) + longest_length(props["PolicyDocument"], resources, templates)
    for name, props, resources in _of_type(templates, "AWS::IAM::Role"):
        trust = longest_length(props["AssumeRolePolicyDocument"], resources, templates)
        assert trust <= TRUST_POLICY_CHARS, f"{name}: trust policy of {trust} characters"
        own = sum(longest_length(p["PolicyDocument"], resources, templates) for p in props.get("Policies", []))
        assert own <= INLINE_POLICIES_PER_ROLE_CHARS, f"{name}: inline policies of {own} characters"
    over = {k: v for k, v in inline.items() if v > INLINE_POLICIES_PER_ROLE_CHARS}
    assert not over, f"roles whose inline policies exceed {INLINE_POLICIES_PER_ROLE_CHARS} characters: {over}"


def test_no_role_takes_more_than_ten_managed_policies(templates):
    attached: dict[str, int] = {}
    for name, props, _ in _of_type(templates, "AWS::IAM::ManagedPolicy"):
        for role in props.get("Roles", []):
            key = f"{name.split('/')[0]}/{json.dumps(role)}"
            attached[key] = attached.get(key, 0) + 1
    for name, props, _ in _of_type(templates, "AWS::IAM::Role"):
        attached[name] = attached.get(name, 0) + len(props.get("ManagedPolicyArns", []))
    assert max(attached.values()) <= MANAGED_POLICIES_PER_ROLE, attached
