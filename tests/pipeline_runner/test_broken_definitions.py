"""A broken definition fails with the step and the field, as the real service would, before or while it runs.

These run on a directory stand-in for S3 (no registry is reached); the full
run against the emulator is in test_local_run.py.
"""

from __future__ import annotations

import pytest

from tests.pipeline_runner.conftest import FAST
from tools.pipeline_runner import PipelineError, RunOptions, run_definition

CHANNELS = "Arguments.TrainingJobDefinitions[0].InputDataConfig"


def tune(definition: dict) -> dict:
    return next(s for s in definition["Steps"] if s["Name"] == "Tune")


def run(definition, store, tmp_path, options: RunOptions = FAST):
    return run_definition(definition, storage=store, options=options, work_dir=tmp_path / "work", log=lambda _: None)


def test_a_reference_to_a_missing_step_fails_before_any_job_runs(definition, store, tmp_path) -> None:
    channel = tune(definition)["Arguments"]["TrainingJobDefinitions"][0]["InputDataConfig"][0]
    channel["DataSource"]["S3DataSource"]["S3Uri"] = {
        "Get": "Steps.Missing.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}

    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path)

    assert str(error.value).startswith(f"step Tune: {CHANNELS}[0].DataSource.S3DataSource.S3Uri: ")
    assert "'Missing'" in str(error.value)
    assert error.value.execution.steps == []


def test_a_property_path_the_step_does_not_have_is_named_with_what_it_has(definition, store, tmp_path) -> None:
    channel = tune(definition)["Arguments"]["TrainingJobDefinitions"][0]["InputDataConfig"][1]
    channel["DataSource"]["S3DataSource"]["S3Uri"] = {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['valid'].S3Output.S3Uri"}

    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path)

    message = str(error.value)
    assert message.startswith(f"step Tune: {CHANNELS}[1].DataSource.S3DataSource.S3Uri: ")
    assert "has no 'valid' (it has ['train', 'validation', 'test', 'schema'])" in message
    assert [(s.name, s.status) for s in error.value.execution.steps] == [("Preprocess", "Succeeded"),
                                                                         ("Tune", "Failed")]


def test_a_channel_train_py_does_not_read_surfaces_the_scripts_failure(definition, store, tmp_path) -> None:
    tune(definition)["Arguments"]["TrainingJobDefinitions"][0]["InputDataConfig"][0]["ChannelName"] = "training"

    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path)

    message = str(error.value)
    assert message.startswith("step Tune: Arguments.TrainingJobDefinitions: all 1 training jobs failed; ")
    assert "the 'train' channel is missing" in message
    assert "channels given: training, validation, code" in message


def test_a_metric_regex_that_matches_nothing_names_the_regex(definition, store, tmp_path) -> None:
    job = tune(definition)["Arguments"]["TrainingJobDefinitions"][0]
    metric = job["AlgorithmSpecification"]["MetricDefinitions"][0]
    metric["Regex"] = r"validation auc = ([0-9.]+)"

    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path)

    message = str(error.value)
    assert message.startswith(
        "step Tune: Arguments.TrainingJobDefinitions[0].AlgorithmSpecification.MetricDefinitions[0].Regex: ")
    assert "objective metric 'validation:auc'" in message and "matches nothing" in message


def test_a_preprocess_failure_carries_the_scripts_reason(definition, store, tmp_path) -> None:
    step = definition["Steps"][0]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    arguments[arguments.index("--label-column") + 1] = "diagnosis"

    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path)

    assert str(error.value).startswith("step Preprocess: Arguments.AppSpecification (preprocess.py): processing job"
                                       " failed (exit 2): ")
    assert "diagnosis" in str(error.value)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"MaxTrainingJob": 2}, "parameter(s) ['MaxTrainingJob'] are not declared"),
        ({"TuningStrategy": "Hyperband"}, "parameter TuningStrategy: 'Hyperband' is not one of ['Bayesian', 'Random']"),
        ({"MaxTrainingJobs": "many"}, "parameter MaxTrainingJobs: 'many' is not a valid Integer"),
    ],
)
def test_bad_parameter_overrides_are_refused(definition, store, tmp_path, parameters, message) -> None:
    with pytest.raises(PipelineError) as error:
        run(definition, store, tmp_path, RunOptions(parameters=parameters))
    assert message in str(error.value)
