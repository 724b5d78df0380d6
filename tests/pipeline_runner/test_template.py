"""The definition comes out of the synthesized template's Fn::Join with its tokens resolved."""

from __future__ import annotations

import json

import pytest

from tests.pipeline_runner.conftest import ROLE_MARKER
from tools.pipeline_runner import PipelineError, load_pipeline

TOKEN = {"Fn::GetStackOutput": {"StackName": "MlPlatform-dev-access", "Region": "us-east-1",
                                "OutputName": "ProcessingRoleArn"}}


class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 - boto3's keyword
        return {"Stacks": [{"StackName": StackName,
                            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]}


def write_template(tmp_path, definition: dict):
    """The shape CDK synthesizes: JSON text joined around each token."""
    before, after = json.dumps(definition).split(ROLE_MARKER, 1)
    parts = [before, TOKEN, *_split(after)]
    template = {"Resources": {"Pipeline": {"Type": "AWS::SageMaker::Pipeline", "Properties": {
        "PipelineName": "mlp-dev-training",
        "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Join": ["", parts]}}}}}}
    path = tmp_path / "MlPlatform-dev-pipeline.template.json"
    path.write_text(json.dumps(template))
    return path


def _split(text: str) -> list:
    pieces = text.split(ROLE_MARKER)
    out: list = [pieces[0]]
    for piece in pieces[1:]:
        out += [TOKEN, piece]
    return out


def test_tokens_resolve_against_the_deployed_stack_outputs(tmp_path, definition) -> None:
    path = write_template(tmp_path, definition)
    role = "arn:aws:iam::111122223333:role/MlPlatform-dev-access-ProcessingJobRole-ABC"
    loaded = load_pipeline(path, cloudformation=FakeCloudFormation({"ProcessingRoleArn": role}))
    assert loaded.name == "mlp-dev-training"
    assert loaded.stack_name == "MlPlatform-dev-pipeline"
    assert {step["Arguments"]["RoleArn"] for step in loaded.definition["Steps"][::2]} == {role}
    assert all(value == role for _, value in loaded.tokens)


def test_without_a_deploy_tokens_become_placeholders(tmp_path, definition) -> None:
    loaded = load_pipeline(write_template(tmp_path, definition))
    assert loaded.definition["Steps"][0]["Arguments"]["RoleArn"] == "<MlPlatform-dev-access.ProcessingRoleArn>"


def test_a_missing_output_is_named(tmp_path, definition) -> None:
    with pytest.raises(PipelineError, match="stack MlPlatform-dev-access has no output ProcessingRoleArn"):
        load_pipeline(write_template(tmp_path, definition), cloudformation=FakeCloudFormation({}))


def test_a_template_without_a_pipeline_is_rejected(tmp_path) -> None:
    path = tmp_path / "X.template.json"
    path.write_text(json.dumps({"Resources": {}}))
    with pytest.raises(PipelineError, match="expected one AWS::SageMaker::Pipeline, found 0"):
        load_pipeline(path)
