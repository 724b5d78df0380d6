"""The synthesized pipeline, run locally against the deployed platform in the emulator.

Data flows through the deployed buckets: raw CSV -> Preprocess channels ->
tuning trials -> best model.tar.gz -> Evaluate report (PropertyFile) -> AUC
gate -> a model package in the deployed group, then served from its artifact.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.pipeline_runner.conftest import CONFIG, write_breast_cancer
from tools.emulator import Emulator
from tools.pipeline_runner import PipelineFailed, RunOptions, S3Storage, load_pipeline, run_pipeline
from tools.pipeline_runner.search import Search, dimensions
from tools.pipeline_runner.serving import predict_csv
from tools.pipeline_runner.storage import split_uri

pytestmark = pytest.mark.slow

STACKS = [CONFIG.stack_name(unit) for unit in ("data", "network", "access", "registry", "pipeline")]
OPTIONS = RunOptions(parameters={"MaxTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
                     static_hyperparameters={"num_round": "20"}, seed=1)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("local-run")
    with Emulator(account_id=CONFIG.account, region=CONFIG.region) as emu:
        emu.bootstrap()
        emu.deploy(REPO_ROOT, stacks=STACKS, output_dir=scratch / "assembly", report=False)
        data = write_breast_cancer(scratch / "breast_cancer.csv")
        emu.client("s3").upload_file(str(data), CONFIG.bucket_name("raw"),
                                     f"{CONFIG.pipeline.raw_data_prefix}breast_cancer.csv")
        yield emu, scratch


def run(platform, options: RunOptions, name: str):
    emu, scratch = platform
    return run_pipeline(
        scratch / "assembly" / f"{CONFIG.stack_name('pipeline')}.template.json",
        storage=S3Storage(emu.client("s3")), cloudformation=emu.client("cloudformation"),
        sagemaker=emu.client("sagemaker"), options=options, work_dir=scratch / name,
        account=CONFIG.account, region=CONFIG.region, log=lambda _: None,
    )


@pytest.fixture(scope="module")
def execution(platform):
    return run(platform, OPTIONS, "run")


def test_the_definitions_tokens_resolve_to_the_deployed_resources(platform) -> None:
    emu, scratch = platform
    loaded = load_pipeline(scratch / "assembly" / f"{CONFIG.stack_name('pipeline')}.template.json",
                           cloudformation=emu.client("cloudformation"))
    values = [value for _, value in loaded.tokens]
    assert values and not any(v.startswith("<") for v in values)
    roles = {loaded.definition["Steps"][0]["Arguments"]["RoleArn"]}
    assert all(r.startswith(f"arn:aws:iam::{CONFIG.account}:role/") for r in roles)


def test_every_step_runs_in_order_and_the_gate_registers(execution) -> None:
    assert execution.status == "Succeeded"
    assert [(s.name, s.status) for s in execution.steps] == [
        ("Preprocess", "Succeeded"), ("Tune", "Succeeded"), ("Evaluate", "Succeeded"), ("CheckAuc", "Succeeded"),
        ("AucBelowThreshold", "NotExecuted"), ("RegisterModel", "Succeeded")]


def test_channels_and_models_land_in_the_deployed_buckets(platform, execution) -> None:
    emu, _ = platform
    s3 = emu.client("s3")
    channels = s3.list_objects_v2(Bucket=CONFIG.bucket_name("processed"),
                                  Prefix=f"channels/{execution.execution_id}/")
    folders = {o["Key"].split("/")[2] for o in channels["Contents"]}
    assert folders == {"train", "validation", "test", "schema"}

    tune = execution.step("Tune").detail
    assert len(tune["trials"]) == 2 and tune["strategy"] == "Bayesian"
    best = tune["best"]
    assert best["objective"] == max(t["objective"] for t in tune["trials"])
    assert best["model_uri"] == (f"s3://{CONFIG.bucket_name('models')}/training/{execution.execution_id}/"
                                 f"{best['name']}/output/model.tar.gz")
    s3.head_object(Bucket=CONFIG.bucket_name("models"), Key=split_uri(best["model_uri"])[1])
    # both approaches got a trial, and the best one tuned its own definition's ranges, not the runner's
    assert {t["definition"] for t in tune["trials"]} == {a.name for a in CONFIG.pipeline.approaches}
    (approach,) = [a for a in CONFIG.pipeline.approaches if a.name == best["definition"]]
    assert set(best["hyperparameters"]) == {r.name for r in approach.tuning_ranges}


def test_the_gate_reads_the_evaluation_report_from_s3(platform, execution) -> None:
    emu, _ = platform
    report_key = f"evaluation/{execution.execution_id}/evaluation.json"
    report = json.loads(emu.client("s3").get_object(Bucket=CONFIG.bucket_name("models"), Key=report_key)["Body"]
                        .read())
    condition = execution.step("CheckAuc").detail["conditions"][0]
    assert condition["LeftValue"] == report["binary_classification_metrics"]["auc"]["value"] > 0.9
    assert condition["RightValue"] == CONFIG.pipeline.auc_threshold


def test_the_model_package_is_pending_approval_with_its_metrics_then_serves(platform, execution) -> None:
    emu, _ = platform
    sm = emu.client("sagemaker")
    arn = execution.step("RegisterModel").detail["model_package_arn"]
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["ModelPackageGroupName"] == CONFIG.model_package_group_name
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(
        f"evaluation/{execution.execution_id}/evaluation.json")
    model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert model_url == execution.step("Tune").detail["best"]["model_uri"]
    # AND it carries the run that made it, why it ran, and the drift baseline production is checked against
    assert package["CustomerMetadataProperties"] == {"PipelineExecutionId": execution.execution_id,
                                                      "RetrainReason": "manual"}
    baseline_uri = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert baseline_uri.endswith(f"{execution.execution_id}/schema/drift-baseline.json")
    # AND the model card evaluation wrote, for the approver: the approach of the best trial, both approaches
    card = package["ModelCard"]
    assert card["ModelCardStatus"] == "PendingReview"
    content = json.loads(card["ModelCardContent"])
    best = execution.step("Tune").detail["best"]["definition"]
    assert content["additional_information"]["custom_details"]["approach"] == best
    assert {g["name"] for g in content["evaluation_details"][0]["metric_groups"]} == {"boosting", "forest",
                                                                                      "baseline"}

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    storage = S3Storage(emu.client("s3"))
    test_uri = execution.step("Preprocess").detail["outputs"]["test"]["objects"][0]
    rows = storage.read(test_uri).decode().splitlines()
    labels = np.array([float(r.split(",", 1)[0]) for r in rows])
    body, content_type = predict_csv(model_url, "\n".join(r.split(",", 1)[1] for r in rows), storage=storage)
    scores = np.array([float(v) for v in body.decode().split()])
    assert content_type == "text/csv" and scores.shape == labels.shape
    assert scores[labels == 1].mean() > scores[labels == 0].mean() + 0.3


def test_a_model_below_the_threshold_fails_the_run_and_is_not_registered(platform, execution) -> None:
    emu, _ = platform
    sm = emu.client("sagemaker")
    group = CONFIG.model_package_group_name
    before = len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"])
    strict = RunOptions(parameters={"MaxTrainingJobs": 1, "MaxParallelTrainingJobs": 1, "AucThreshold": 1.01},
                        static_hyperparameters={"num_round": "5"})

    with pytest.raises(PipelineFailed) as error:
        run(platform, strict, "strict")

    assert str(error.value).startswith("step AucBelowThreshold: Test AUC ")
    assert str(error.value).endswith("is below the threshold 1.01")
    assert error.value.execution.step("RegisterModel").status == "NotExecuted"
    assert len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == before


def test_random_strategy_follows_its_seed_and_trials_can_span_two_instances(platform) -> None:
    options = RunOptions(parameters={"TuningStrategy": "Random", "MaxTrainingJobs": 2, "MaxParallelTrainingJobs": 1,
                                     "TrainingInstanceCount": 2},
                         static_hyperparameters={"num_round": "10"}, seed=5)

    execution = run(platform, options, "random")

    tune = execution.step("Tune").detail
    # The definitions take turns, each with its own search seeded by the run's seed plus its index
    expected = []
    for index, ranges in enumerate(execution_ranges(platform)):
        search = Search(dimensions(ranges), "Random", 5 + index, maximize=True)
        expected += [search.hyperparameters(p) for p in search.propose(1, [])]
    assert [t["definition"] for t in tune["trials"]] == ["boosting", "forest"]
    assert tune["strategy"] == "Random" and tune["instance_count"] == 2
    assert [t["hyperparameters"] for t in tune["trials"]] == expected
    assert all(t["status"] == "Completed" for t in tune["trials"])


def execution_ranges(platform) -> list[dict]:
    emu, scratch = platform
    loaded = load_pipeline(scratch / "assembly" / f"{CONFIG.stack_name('pipeline')}.template.json",
                           cloudformation=emu.client("cloudformation"))
    tune = next(s for s in loaded.definition["Steps"] if s["Type"] == "Tuning")
    return [job["HyperParameterRanges"] for job in tune["Arguments"]["TrainingJobDefinitions"]]
