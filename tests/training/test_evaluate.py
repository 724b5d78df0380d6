"""The evaluate processing step against metrics scikit-learn computes independently."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn import metrics
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:  # the container puts the source dir on sys.path
    sys.path.insert(0, str(TRAINING_DIR))

import evaluate  # noqa: E402

from smxgb import report  # noqa: E402
from smxgb.env import MODEL_FILE_NAME  # noqa: E402
from smxgb.failure import UserError  # noqa: E402


def _setup(root: Path, features, labels, params, *, archive: bool = True):
    """Train on the first 2/3, write the rest as a label-first test channel, package like SageMaker does."""
    cut = len(labels) * 2 // 3
    booster = xgb.train({"nthread": 1, "max_depth": 3, **params}, xgb.DMatrix(features[:cut], labels[:cut]), 15)
    (root / "model").mkdir(parents=True)
    (root / "test").mkdir()
    model_file = root / "model" / MODEL_FILE_NAME
    model_file.write_bytes(booster.save_raw("ubj"))
    if archive:
        with tarfile.open(root / "model" / "model.tar.gz", "w:gz") as tar:
            tar.add(model_file, arcname=MODEL_FILE_NAME)
        model_file.unlink()
    test_x, test_y = features[cut:].astype(np.float32), labels[cut:]
    np.savetxt(root / "test" / "test.csv", np.column_stack([test_y, test_x]), delimiter=",", fmt="%.9g")
    return booster.predict(xgb.DMatrix(test_x)), test_y


def _evaluate(root: Path, *extra: str) -> dict:
    args = evaluate.build_parser().parse_args([
        "--model", str(root / "model"), "--test-dir", str(root / "test"),
        "--output-dir", str(root / "evaluation"), "--failure-dir", str(root / "output"), *extra,
    ])
    result = evaluate.run(args)
    assert json.loads((root / "evaluation" / report.EVALUATION_FILE_NAME).read_text()) == result
    return result


def test_binary_report_matches_sklearn(tmp_path):
    """GIVEN a binary:logistic model in model.tar.gz WHEN evaluated THEN every metric equals sklearn's."""
    x, y = load_breast_cancer(return_X_y=True)
    scores, labels = _setup(tmp_path, x, y, {"objective": "binary:logistic"})
    result = _evaluate(tmp_path)
    predicted = (scores > 0.5).astype(int)
    section = result["binary_classification_metrics"]
    assert report.json_get(result, report.BINARY_AUC_PATH) == pytest.approx(metrics.roc_auc_score(labels, scores))
    assert section["accuracy"]["value"] == pytest.approx(metrics.accuracy_score(labels, predicted))
    assert section["precision"]["value"] == pytest.approx(metrics.precision_score(labels, predicted))
    assert section["recall"]["value"] == pytest.approx(metrics.recall_score(labels, predicted))
    assert section["f1"]["value"] == pytest.approx(metrics.f1_score(labels, predicted))
    (tn, fp), (fn, tp) = metrics.confusion_matrix(labels, predicted)
    assert section["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert section["false_positive_rate"]["value"] == pytest.approx(fp / (fp + tn))
    assert 0 < section["auc"]["standard_deviation"] < 0.1


def test_tied_scores_auc_matches_sklearn():
    """GIVEN heavily tied scores WHEN AUC is computed THEN average-rank handling equals sklearn's."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + labels * 0.3, 1)
    assert evaluate.auc(labels, scores) == pytest.approx(metrics.roc_auc_score(labels, scores))


def test_multiclass_report_matches_sklearn(tmp_path):
    """GIVEN a multi:softmax model WHEN evaluated THEN accuracy, weighted F1 and confusion equal sklearn's."""
    x, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    predicted, labels = _setup(tmp_path, x[order], y[order], {"objective": "multi:softmax", "num_class": 3})
    result = _evaluate(tmp_path, "--bootstrap-samples", "0")
    section = result["multiclass_classification_metrics"]
    assert report.json_get(result, report.MULTICLASS_ACCURACY_PATH) == pytest.approx(
        metrics.accuracy_score(labels, predicted))
    assert section["weighted_f1"]["value"] == pytest.approx(metrics.f1_score(labels, predicted, average="weighted"))
    assert section["weighted_precision"]["value"] == pytest.approx(
        metrics.precision_score(labels, predicted, average="weighted", zero_division=0))
    expected = metrics.confusion_matrix(labels, predicted, labels=[0, 1, 2])
    assert section["confusion_matrix"] == {str(a): {str(p): int(expected[a, p]) for p in range(3)} for a in range(3)}
    assert section["accuracy"]["standard_deviation"] is None


def test_regression_report_matches_sklearn(tmp_path):
    """GIVEN a reg:squarederror model as a bare xgboost-model WHEN evaluated THEN mse/rmse/mae/r2 equal sklearn's."""
    x, y = load_diabetes(return_X_y=True)
    predicted, labels = _setup(tmp_path, x, y, {"objective": "reg:squarederror"}, archive=False)
    result = _evaluate(tmp_path)
    labels = labels.astype(np.float32)
    section = result["regression_metrics"]
    mse = metrics.mean_squared_error(labels, predicted)
    assert report.json_get(result, report.REGRESSION_MSE_PATH) == pytest.approx(mse, rel=1e-5)
    assert report.json_get(result, report.REGRESSION_RMSE_PATH) == pytest.approx(np.sqrt(mse), rel=1e-5)
    assert section["mae"]["value"] == pytest.approx(metrics.mean_absolute_error(labels, predicted), rel=1e-5)
    assert section["r2"]["value"] == pytest.approx(metrics.r2_score(labels, predicted), rel=1e-5)
    assert "confusion_matrix" not in section


def test_every_documented_json_path_resolves(tmp_path):
    """GIVEN the JsonGet path constants WHEN resolved in reports of their type THEN each is a number."""
    x, y = load_breast_cancer(return_X_y=True)
    _setup(tmp_path, x, y, {"objective": "binary:logistic"})
    binary = _evaluate(tmp_path, "--bootstrap-samples", "2")
    paths = [value for name, value in vars(report).items() if name.endswith("_PATH") and isinstance(value, str)]
    binary_paths = [p for p in paths if p.startswith("binary_")]
    assert len(binary_paths) == 5
    for path in binary_paths:
        assert isinstance(report.json_get(binary, path), float)
    for problem_type, (path, _) in report.PRIMARY_METRIC_PATH.items():
        assert path.startswith(report.SECTIONS[problem_type] + ".") and path in paths


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda root: (root / "model" / "model.tar.gz").unlink(), (),
         r"holds neither xgboost-model nor exactly one \*.tar.gz"),
        (lambda root: np.savetxt(root / "test" / "test.csv", np.ones((3, 5)), delimiter=","), (),
         r"test rows have 4 features but the model expects 30"),
        (lambda root: np.savetxt(root / "test" / "test.csv", np.full((3, 31), 2.0), delimiter=","), (),
         r"test labels must be class indices 0..1 for binary_classification, found 2"),
        (lambda root: None, ("--problem-type", "ranking"), r"problem_type 'ranking' is not one of"),
    ],
    ids=["no-model", "feature-count", "label-values", "bad-problem-type"],
)
def test_bad_inputs_are_user_errors(tmp_path, change, extra, message):
    """GIVEN a broken model or test channel WHEN evaluated THEN a UserError names the problem and the fix."""
    x, y = load_breast_cancer(return_X_y=True)
    _setup(tmp_path, x, y, {"objective": "binary:logistic"})
    change(tmp_path)
    with pytest.raises(UserError, match=message):
        _evaluate(tmp_path, *extra)


def test_archive_without_model_file_lists_members(tmp_path):
    """GIVEN a model.tar.gz holding only code/ WHEN loaded THEN the UserError lists what it holds."""
    (tmp_path / "code.py").write_text("pass\n")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "code.py", arcname="code/inference.py")
    with pytest.raises(UserError, match=r"model.tar.gz has no xgboost-model \(members: \['code/inference.py'\]\)"):
        evaluate.load_booster(tmp_path / "model.tar.gz")


def test_main_reports_failure_as_exit_message(tmp_path):
    """GIVEN a missing model WHEN main runs THEN it exits 2 and the ExitMessage file holds the reason."""
    with pytest.raises(SystemExit) as exited:
        evaluate.main(["--model", str(tmp_path / "nope"), "--failure-dir", str(tmp_path / "output")])
    assert exited.value.code == 2
    assert "does not exist; map the training step's model artifact there" in (
        tmp_path / "output" / report.EXIT_MESSAGE_FILE_NAME).read_text()
