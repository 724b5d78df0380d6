"""The expression language: property paths, Join, JsonGet, conditions; errors name step and field."""

from __future__ import annotations

import pytest

from tools.pipeline_runner import PipelineError
from tools.pipeline_runner.expressions import Context, evaluate_condition, parse_path, resolve


@pytest.fixture
def ctx() -> Context:
    context = Context({"AucThreshold": 0.8, "Label": "label"}, {"PipelineExecutionId": "abc123"})
    context.steps["Prep"] = {"ProcessingOutputConfig": {"Outputs": [
        {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}}]}}
    context.steps["Tune"] = {"TrainingJobSummaries": [{"TrainingJobName": "best"}, {"TrainingJobName": "second"}]}
    context.steps["Eval"] = {}
    context.property_files[("Eval", "Report")] = {"metrics": {"auc": {"value": 0.9}}, "rows": [1, 2]}
    return context


def test_paths_parse_dots_indexes_and_quoted_names() -> None:
    assert parse_path("ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri") == [
        "ProcessingOutputConfig", "Outputs", "train", "S3Output", "S3Uri"]
    assert parse_path("TrainingJobSummaries[0].TrainingJobName") == ["TrainingJobSummaries", 0, "TrainingJobName"]


def test_get_join_and_json_get_resolve(ctx) -> None:
    value = {
        "uri": {"Std:Join": {"On": "/", "Values": [
            {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
            {"Get": "Execution.PipelineExecutionId"},
            {"Get": "Steps.Tune.TrainingJobSummaries[1].TrainingJobName"}]}},
        "auc": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                                "Path": "metrics.auc.value"}},
        "second_row": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                                       "Path": "rows[1]"}},
    }
    assert resolve(value, ctx, step="S", field_path="Arguments") == {
        "uri": "s3://b/train/abc123/second", "auc": 0.9, "second_row": 2}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Steps.Prep.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri", "has no 'nope' (it has ['train'])"),
        ("Steps.Tune.TrainingJobSummaries[5].TrainingJobName", "has no item [5] (2 items)"),
        ("Steps.Later.Anything", "has not run before this step"),
        ("Parameters.Missing", "undeclared parameter"),
    ],
)
def test_a_wrong_reference_names_step_field_and_what_exists(ctx, ref, message) -> None:
    with pytest.raises(PipelineError) as error:
        resolve({"X": [{"Get": ref}]}, ctx, step="Evaluate", field_path="Arguments")
    assert str(error.value).startswith("step Evaluate: Arguments.X[0]: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": 0.8, "RightValue": {"Get": "Parameters.AucThreshold"}}, True),
        ({"Type": "GreaterThan", "LeftValue": 0.8, "RightValue": 0.8}, False),
        ({"Type": "LessThan", "LeftValue": "1", "RightValue": 2}, True),
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Label"}, "RightValue": "label"}, True),
        ({"Type": "In", "QueryValue": 2, "Values": [1, 2]}, True),
        ({"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}}, False),
        ({"Type": "Or", "Conditions": [{"Type": "LessThan", "LeftValue": 2, "RightValue": 1},
                                       {"Type": "LessThanOrEqualTo", "LeftValue": 1, "RightValue": 1}]}, True),
    ],
)
def test_conditions(ctx, condition, expected) -> None:
    assert evaluate_condition(condition, ctx, step="Check", field_path="Arguments.Conditions[0]") is expected


def test_a_null_metric_cannot_pass_the_gate(ctx) -> None:
    with pytest.raises(PipelineError, match=r"^step Check: Arguments.Conditions\[0\]: cannot compare None"):
        evaluate_condition({"Type": "GreaterThanOrEqualTo", "LeftValue": None, "RightValue": 0.8}, ctx,
                           step="Check", field_path="Arguments.Conditions[0]")
