"""evaluate.py compares the approaches: the best of each and a baseline, plots, and the model card."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import xgboost as xgb

from training.local_runner import run_training

PNG = b"\x89PNG\r\n\x1a\n"
_TEXT = {"type": "string", "maxLength": 2048}
_NOTE = {"type": "string", "maxLength": 1024}
_METRIC = {"type": "object", "required": ["name", "type", "value"], "additionalProperties": False,
           "properties": {"name": {"type": "string", "maxLength": 255}, "notes": _NOTE,
                          "type": {"enum": ["number", "string", "boolean"]},
                          "value": {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": 63},
                                              {"type": "boolean"}]}}}
_TRAINING_METRIC = {"type": "object", "required": ["name", "value"], "additionalProperties": False,
                    "properties": {"name": {"type": "string", "maxLength": 255}, "notes": _NOTE,
                                   "value": {"type": "number"}}}
#: SageMaker's "model package model card schema" (Model Registry, "Update the details of a model version"),
#: the members this card uses, written out here with the documented types, enums and lengths.
MODEL_PACKAGE_CARD_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "model_overview": {"type": "object", "additionalProperties": False, "properties": {
            "model_creator": _NOTE, "model_artifact": {"type": "array", "items": _NOTE}}},
        "intended_uses": {"type": "object", "additionalProperties": False, "properties": {
            "purpose_of_model": _TEXT, "intended_uses": _TEXT, "factors_affecting_model_efficiency": _TEXT,
            "risk_rating": {"enum": ["High", "Medium", "Low", "Unknown"]}, "explanations_for_risk_rating": _TEXT}},
        "business_details": {"type": "object"},
        "training_details": {"type": "object", "additionalProperties": False, "properties": {
            "objective_function": {"type": "object", "additionalProperties": False, "properties": {
                "function": {"type": "object", "additionalProperties": False, "properties": {
                    "function": {"enum": ["Maximize", "Minimize"]}, "facet": {"type": "string", "maxLength": 63},
                    "condition": {"type": "string", "maxLength": 63}}},
                "notes": _NOTE}},
            "training_observations": _NOTE,
            "training_job_details": {"type": "object", "additionalProperties": False, "properties": {
                "training_arn": _NOTE, "training_datasets": {"type": "array", "items": _NOTE},
                "training_environment": {"type": "object"},
                "training_metrics": {"type": "array", "maxItems": 50, "items": _TRAINING_METRIC},
                "user_provided_training_metrics": {"type": "array", "items": _TRAINING_METRIC},
                "hyper_parameters": {"type": "array", "maxItems": 100, "items": {
                    "type": "object", "required": ["name", "value"], "additionalProperties": False,
                    "properties": {"name": {"type": "string", "pattern": "^.{1,255}$"},
                                   "value": {"type": "string", "pattern": "^.{1,255}$"}}}}}}}},
        "evaluation_details": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                "name": {"type": "string", "pattern": "^.{1,63}$"},
                "evaluation_observation": {"type": "string", "maxLength": 2096},
                "evaluation_job_arn": {"type": "string", "maxLength": 256},
                "datasets": {"type": "array", "maxItems": 10, "items": _NOTE},
                "metadata": {"type": "object", "additionalProperties": _NOTE},
                "metric_groups": {"type": "array", "items": {
                    "type": "object", "required": ["name", "metric_data"], "properties": {
                        "name": {"type": "string", "pattern": "^.{1,63}$"},
                        "metric_data": {"type": "array", "items": _METRIC}}}}}}},
        "additional_information": {"type": "object", "additionalProperties": False, "properties": {
            "ethical_considerations": _TEXT, "caveats_and_recommendations": _TEXT,
            "custom_details": {"type": "object", "additionalProperties": _NOTE}}},
    },
}


def _artifact(model_dir: Path, target: Path) -> Path:
    """What SageMaker uploads for a trial: <job>/output/model.tar.gz."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        for path in model_dir.iterdir():
            archive.add(path, arcname=path.name)
    return target


@pytest.fixture(scope="module")
def trials(tmp_path_factory, breast_cancer):
    """A boosting and a forest trial trained by the real train.py, as the tuning job leaves them."""
    from tests.training.conftest import write_csv

    root = tmp_path_factory.mktemp("trials")
    (X_train, y_train), (X_val, y_val) = breast_cancer
    channels = {"train": write_csv(root / "train" / "train.csv", X_train, y_train),
                "validation": write_csv(root / "validation" / "validation.csv", X_val, y_val),
                "test": write_csv(root / "test" / "test.csv", X_val, y_val)}
    common = {"objective": "binary:logistic", "eval_metric": "auc"}
    settings = {"boosting": {"approach": "boosting", "num_round": 20, "max_depth": 3, "eta": 0.3},
                "forest": {"approach": "forest", "num_parallel_tree": 30, "max_depth": 6}}
    artifacts = {}
    for approach, hps in settings.items():
        result = run_training("train.py", channels={k: v for k, v in channels.items() if k != "test"},
                              hyperparameters={**common, **hps}, root=root / approach, num_cpus=1)
        assert result.returncode == 0, result.stderr[-2000:]
        artifacts[approach] = _artifact(result.model_dir, root / "candidates" / f"job-{approach}" / "output"
                                        / "model.tar.gz")
    return root, {k: v.parent for k, v in channels.items()}, artifacts


def _evaluate(trials, chosen: str, out: Path, *extra: str) -> dict:
    import evaluate

    root, channels, artifacts = trials
    argv = ["--model", str(artifacts[chosen]), "--candidates", str(root / "candidates"),
            "--test-dir", str(channels["test"]), "--train-dir", str(channels["train"]),
            "--validation-dir", str(channels["validation"]), "--output-dir", str(out), "--bootstrap-samples", "0",
            "--model-uri", "s3://models/training/run/job/output/model.tar.gz", "--train-uri", "s3://p/train",
            "--validation-uri", "s3://p/validation", "--test-uri", "s3://p/test", *extra]
    evaluate.run(evaluate.build_parser().parse_args(argv))
    return json.loads((out / "comparison.json").read_text())


def test_the_best_of_each_approach_and_a_baseline_are_scored_side_by_side(trials, tmp_path):
    # GIVEN the tuner chose the boosting trial, and both trials' artifacts are candidates
    # WHEN evaluation runs
    result = _evaluate(trials, "boosting", tmp_path)
    rows = result["approaches"]
    # THEN each approach and the baseline have a row with the objective and its companions
    assert list(rows) == ["boosting", "forest", "baseline"]
    for name in ("boosting", "forest"):
        row = rows[name]
        assert 0.9 < row["test_objective"] <= 1.0 and {"accuracy", "f1", "precision", "recall"} <= set(row["test"])
        assert row["train_validation_gap"] == pytest.approx(row["train_objective"] - row["validation_objective"])
        assert row["latency_ms_per_1000_rows"] > 0 and row["model_size_bytes"] > 1000
    # AND the baseline predicts the training prior: no ranking at all, nothing to store
    assert rows["baseline"]["test_objective"] == 0.5 and rows["baseline"]["model_size_bytes"] == 0
    # AND the forest's 30 trees weigh more than boosting's 20 shallow ones
    assert rows["forest"]["model_size_bytes"] > rows["boosting"]["model_size_bytes"]
    # AND the verdict names the registered model's approach and the margin over the other, signed
    verdict = result["verdict"]
    assert (verdict["winner"], verdict["runner_up"], verdict["objective"]) == ("boosting", "forest", "auc")
    difference = rows["boosting"]["test_objective"] - rows["forest"]["test_objective"]
    assert verdict["test_margin"] == pytest.approx(difference)
    assert result["sentence"].startswith("boosting won on validation auc")


def test_plots_are_pngs_next_to_the_report(trials, tmp_path):
    result = _evaluate(trials, "boosting", tmp_path)
    assert result["plots"] == ["roc.png", "precision_recall.png", "feature_importance.png", "validation_curve.png"]
    for name in result["plots"]:
        assert (tmp_path / name).read_bytes().startswith(PNG)
    # AND --no-plots writes none and lists none
    other = _evaluate(trials, "boosting", tmp_path / "quiet", "--no-plots")
    assert other["plots"] == [] and not list((tmp_path / "quiet").glob("*.png"))


def test_a_forest_winner_gets_its_validation_curve_tree_by_tree(trials, tmp_path):
    import evaluate

    from smxgb.data import read_channel_arrays

    # GIVEN the tuner chose the forest
    result = _evaluate(trials, "forest", tmp_path)
    assert result["verdict"]["winner"] == "forest" and (tmp_path / "validation_curve.png").is_file()
    # WHEN its curve is computed over its trees
    _, channels, artifacts = trials
    booster = evaluate.load_booster(artifacts["forest"])
    validation = read_channel_arrays(channels["validation"], None, channel="validation")
    curve = evaluate.forest_curve(booster, validation, "binary:logistic", "auc",
                                  lambda y, s: evaluate.binary_metrics(y.astype(np.int64), s, 0.5))
    # THEN one point per tree, and all the trees together score what the whole model scores
    assert len(curve) == 30
    assert curve[-1] == pytest.approx(result["approaches"]["forest"]["validation_objective"], abs=1e-9)


def test_the_model_card_follows_the_model_package_card_schema_and_says_why(trials, tmp_path):
    _evaluate(trials, "boosting", tmp_path)
    written = json.loads((tmp_path / "model-card.json").read_text())
    # THEN the property file holds the card as a JSON string (ModelCardContent is a string) and its status
    assert written["status"] == "PendingReview" and isinstance(written["content"], str)
    content = json.loads(written["content"])
    jsonschema.validate(content, MODEL_PACKAGE_CARD_SCHEMA)
    assert len(written["content"]) <= 100_000  # ModelCardContent's maximum length
    # AND it says which approach, why, on what data, and how each candidate scored
    assert content["additional_information"]["custom_details"]["approach"] == "boosting"
    assert "boosting won on validation auc" in content["training_details"]["training_observations"]
    assert content["training_details"]["training_job_details"]["training_datasets"] == ["s3://p/train",
                                                                                         "s3://p/validation"]
    assert content["model_overview"]["model_artifact"] == ["s3://models/training/run/job/output/model.tar.gz"]
    groups = {g["name"]: {m["name"]: m["value"] for m in g["metric_data"]}
              for g in content["evaluation_details"][0]["metric_groups"]}
    assert set(groups) == {"boosting", "forest", "baseline"} and groups["baseline"]["test auc"] == 0.5
    assert {"train - validation gap auc", "latency ms per 1000 rows", "model size bytes"} <= set(groups["forest"])


def test_a_regression_comparison_draws_residuals(tmp_path, diabetes):
    import evaluate

    from tests.training.conftest import write_csv

    (X_train, y_train), (X_val, y_val) = diabetes
    booster = xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X_train, y_train), 10)
    model = tmp_path / "model"
    model.mkdir()
    (model / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    test = write_csv(tmp_path / "test" / "test.csv", X_val, y_val).parent
    train = write_csv(tmp_path / "train" / "train.csv", X_train, y_train).parent
    argv = ["--model", str(model), "--test-dir", str(test), "--train-dir", str(train), "--validation-dir", str(test),
            "--output-dir", str(tmp_path / "out"), "--bootstrap-samples", "0"]
    evaluate.run(evaluate.build_parser().parse_args(argv))
    result = json.loads((tmp_path / "out" / "comparison.json").read_text())
    # THEN RMSE is the objective, lower is better, and the baseline (the training mean) is beaten
    assert (result["verdict"]["objective"], result["verdict"]["higher_is_better"]) == ("rmse", False)
    assert result["verdict"]["baseline_margin"] > 0
    assert "residuals.png" in result["plots"] and "roc.png" not in result["plots"]
