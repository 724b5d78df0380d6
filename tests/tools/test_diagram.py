"""The architecture diagram: generated from the cloud assembly, and the committed one kept in step with the app."""

from __future__ import annotations

import json
import re

import pytest

from tools.diagram import __main__ as diagram_cli
from tools.diagram.assembly import Edge, read
from tools.diagram.render import render


def _write_assembly(root, templates: dict[str, dict], deps: dict[str, list[str]]) -> None:
    artifacts = {name: {"type": "aws:cloudformation:stack", "dependencies": deps.get(name, []),
                        "properties": {"templateFile": f"{name}.template.json"}} for name in templates}
    artifacts["Tree"] = {"type": "cdk:tree"}
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    for name, template in templates.items():
        (root / f"{name}.template.json").write_text(json.dumps(template))


@pytest.fixture
def assembly(tmp_path):
    """Two stacks referring to each other the three ways CDK apps do: a stack output, an export, a fixed name."""
    data = {
        "Resources": {
            "KeyAB12CD34": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
                {"Principal": {"AWS": "arn:aws:iam::111122223333:role/app-jobs"}}]}}},
            "KeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {"TargetKeyId": {"Ref": "KeyAB12CD34"}}},
            "Bucket0123ABCD": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "app-raw-data",
                "BucketEncryption": {"KMSMasterKeyID": {"Fn::GetAtt": ["KeyAB12CD34", "Arn"]}}}},
            **{f"Alarm{i}": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}} for i in range(3)},
        },
        "Outputs": {"KeyArnOut": {"Value": {"Fn::GetAtt": ["KeyAB12CD34", "Arn"]}},
                    "BucketOut": {"Value": {"Ref": "Bucket0123ABCD"}, "Export": {"Name": "app-data:Bucket"}}},
    }
    jobs = {
        "Resources": {
            "JobsRole99887766": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "app-jobs"}},
            "JobsPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
                "Roles": [{"Ref": "JobsRole99887766"}],
                "PolicyDocument": {"Statement": [
                    {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::app-raw-data/*"},
                    {"Action": "kms:Decrypt", "Resource": {"Fn::GetStackOutput": {
                        "StackName": "App-data", "OutputName": "KeyArnOut"}}}]}}},
            "Pipeline": {"Type": "AWS::SageMaker::Pipeline", "Properties": {
                "RoleArn": {"Fn::GetAtt": ["JobsRole99887766", "Arn"]},
                "PipelineDefinition": {"Fn::Join": ["", ["s3://", {"Fn::ImportValue": "app-data:Bucket"}]]}}},
        },
    }
    _write_assembly(tmp_path, {"App-data": data, "App-jobs": jobs}, {"App-jobs": ["App-data"]})
    return tmp_path


def test_the_graph_follows_every_kind_of_reference(assembly):
    # GIVEN an assembly whose stacks refer to each other by output, export and fixed name
    # WHEN it is read
    graph = read(assembly)
    # THEN stacks lose their common prefix, plumbing folds into its owner, and three alarms fold into one node
    assert graph.stacks == ["data", "jobs"] and graph.stack_deps == {"data": [], "jobs": ["data"]}
    assert sorted(graph.nodes) == ["data/AWS::CloudWatch::Alarm", "data/Bucket0123ABCD", "data/KeyAB12CD34",
                                   "jobs/JobsRole99887766", "jobs/Pipeline"]
    assert graph.nodes["data/AWS::CloudWatch::Alarm"].count == 3
    assert graph.nodes["data/Bucket0123ABCD"].label == "Bucket"  # CDK's hash suffix dropped
    # AND the role's policy is its access (by fixed name and by stack output); the pipeline runs as the role and
    # reads the bucket through an export; the key policy naming the role is no flow of the key
    assert graph.edges == sorted([
        Edge("data/Bucket0123ABCD", "data/KeyAB12CD34", "key"),
        Edge("jobs/JobsRole99887766", "data/Bucket0123ABCD", "access"),
        Edge("jobs/JobsRole99887766", "data/KeyAB12CD34", "access"),
        Edge("jobs/Pipeline", "data/Bucket0123ABCD", "flow"),
        Edge("jobs/Pipeline", "jobs/JobsRole99887766", "role"),
    ])


def test_rendering_is_deterministic_and_places_dependents_below(assembly):
    # GIVEN the same assembly read twice
    first, second = render(read(assembly), title="t"), render(read(assembly), title="t")
    # THEN the bytes are the same, every node and edge is drawn, and the dependent stack sits lower
    assert first == second
    assert first.count('class="node"') == 5 and first.count('class="edge ') == 5
    y = {m[0]: float(m[1]) for m in re.findall(r'id="stack-(\w+)"><rect x="[\d.]+" y="([\d.]+)"', first)}
    assert y["jobs"] > y["data"]


def test_a_stale_diagram_fails_the_check_naming_the_fix(guarded, assembly, tmp_path):
    # GIVEN a committed diagram that no longer matches the assembly
    committed = tmp_path / "architecture.svg"
    committed.write_text("<svg/>")
    # WHEN it is checked THEN the check fails in one line naming the regenerate command
    ending = guarded(diagram_cli.main, ["--assembly", str(assembly), "--output", str(committed), "--check"])
    ending.assert_one_line(1, r"does not match the app .*regenerate it with `python -m tools\.diagram`")
    # AND regenerating makes it pass
    assert guarded(diagram_cli.main, ["--assembly", str(assembly), "--output", str(committed)]).code == 0
    assert guarded(diagram_cli.main, ["--assembly", str(assembly), "--output", str(committed), "--check"]).code == 0


def test_no_assembly_is_bad_input(guarded, tmp_path):
    guarded(diagram_cli.main, ["--assembly", str(tmp_path)]).assert_one_line(2, r"no cloud assembly .*make synth")


def test_the_committed_diagram_matches_the_app(guarded):
    # GIVEN the app as it is  WHEN it is synthesized hermetically and drawn
    ending = guarded(diagram_cli.main, ["--check"])
    # THEN docs/architecture.svg is what it gives (else: `python -m tools.diagram`, and commit the result)
    assert ending.code == 0, ending.err
