"""The demo's cost estimate and summary, and (slow) the whole demo as `make demo` runs it."""

from __future__ import annotations

import re

import pytest

from tools.demo import __main__ as demo
from tools.demo.cost import JOB_OVERHEAD_S, SPOT_DISCOUNT, UnknownPrice, execution_costs, job_cost
from tools.demo.summary import render
from tools.pipeline_runner.runner import Execution, StepRecord


def test_spot_tuning_costs_the_discounted_price_per_billed_second() -> None:
    cost = job_cost("Tune", "ml.m5.xlarge", 1, run_seconds=3600 - 4 * JOB_OVERHEAD_S, jobs=4, spot=True)
    assert cost.billed_seconds == 3600
    assert cost.usd == pytest.approx(0.23 * (1 - SPOT_DISCOUNT))
    assert job_cost("Prep", "ml.m5.large", 2, 3600 - JOB_OVERHEAD_S).usd == pytest.approx(0.23)


def test_an_instance_type_without_an_assumed_price_is_named() -> None:
    with pytest.raises(UnknownPrice, match="no price for ml.p5.48xlarge; add it to tools/cost/prices.py"):
        job_cost("Tune", "ml.p5.48xlarge", 1, 10)


def sample_execution(tmp_path) -> Execution:
    execution = Execution("mlp-dev-training", "abc123", {}, tmp_path, status="Succeeded", seconds=12.0)
    execution.steps = [
        StepRecord("Preprocess", "Processing", "Succeeded", 1.0, {
            "instance_type": "ml.m5.large", "instance_count": 1, "job_seconds": 1.0,
            "outputs": {"train": {"uri": "s3://p/channels/abc123/train", "objects": []}}}),
        StepRecord("Tune", "Tuning", "Succeeded", 9.0, {
            "instance_type": "ml.m5.xlarge", "instance_count": 1, "spot": True, "trial_seconds": 8.0,
            "strategy": "Bayesian", "objective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "trials": [{}, {}],
            "best": {"name": "t-001", "objective": 0.98, "hyperparameters": {"eta": "0.1"},
                     "model_uri": "s3://m/training/abc123/t-001/output/model.tar.gz"}}),
        StepRecord("AucBelowThreshold", "Fail", "NotExecuted"),
    ]
    return execution


def test_the_summary_names_steps_best_trial_artifacts_predictions_and_cost(tmp_path) -> None:
    execution = sample_execution(tmp_path)
    text = render(execution, predictions=[(1, 0.97)], registered={}, costs=execution_costs(execution),
                  timings=[("deploy every stack", 12.5, "ok")])
    words = " ".join(text.split())  # column padding is presentation
    for expected in ("Preprocess Processing Succeeded", "AucBelowThreshold Fail NotExecuted", "eta = 0.1",
                     "validation:auc = 0.980000", "s3://m/training/abc123/t-001/output/model.tar.gz", "1 0.9700",
                     "Tune 1 x ml.m5.xlarge 2 128 yes", "deploy every stack 12.5 ok"):
        assert expected in words, expected


@pytest.mark.slow
def test_the_demo_runs_end_to_end_and_cleans_up(capsys, tmp_path) -> None:
    plot = tmp_path / "drift.png"
    assert demo.main(["--skip-synth", "--trials", "2", "--num-round", "10", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    # THEN the cycle closes: the shifted features are found drifted, the plot is written,
    # and drift registers a second version that says why it was trained
    words = " ".join(out.split())
    for feature in demo.cycle.SHIFTED_FEATURES:
        assert f"drifted: {feature}: PSI" in out
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "Retrained on drift: model package version 2 (PendingManualApproval)" in words
    # the monitoring pipeline ran both branches, and the guard let one alarm through and suppressed the next
    assert "PublishBaseline: Succeeded" in out and "Monitor: Succeeded" in out
    assert "Retraining guard: drift alarm -> started; the same alarm 10 min later -> suppressed" in words
    assert "'RetrainReason': 'drift'" in out
    assert "Pipeline mlp-dev-xgboost-training" in out and ": Succeeded in" in out
    assert "Sample predictions" in out and "Estimated AWS cost of this run: $" in out
    assert "data buckets kept with every object" in out
    # the batch-scoring phase: every row scored with the approved version, row ids kept
    assert re.search(r"version 1: 569 rows scored in 1 request\(s\)", out)
    assert re.search(r"^\[ *[\d.]+s\]   row-00001,[^,]+,[^,]+,\.\.\.\(26 more\)\.\.\.,[^,]+,[^,]+,[\d.e-]+$", out, re.M)
    assert "MlPlatform-dev-batch: 1 resource gap(s)" in out  # the pipeline, which moto skips
    assert "MlPlatform-dev-pipeline: 1 resource gap(s)" in out  # the emulator's own report is shown
    # AND the approaches are compared, the one chosen is named, the plots are written and named, and the
    # registered version carries the model card
    assert "| approach | test auc | train auc | validation auc | gap |" in out
    assert "| baseline | 0.5000 |" in out and "approach chosen: " in out
    for name in ("roc.png", "precision_recall.png", "feature_importance.png", "validation_curve.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG") and str(tmp_path / name) in out
    assert "model card (PendingReview): approach " in out
