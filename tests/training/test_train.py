"""train.py end to end through the local runner, on real scikit-learn data sets.

Quality is measured independently of the training log: the saved model is
loaded as the serving container would and scored with scikit-learn.
"""

from __future__ import annotations

import json
import re

import pytest
import xgboost as xgb
from sklearn.datasets import dump_svmlight_file
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from training.local_runner import run_training


def load_served_model(result) -> xgb.Booster:
    # The serving container loads every top-level file of the model dir as a model;
    # the handlers ride along in code/, where SAGEMAKER_SUBMIT_DIRECTORY points.
    assert sorted(p.name for p in result.model_dir.iterdir() if p.is_file()) == ["xgboost-model"]
    assert sorted(p.name for p in result.model_dir.iterdir() if p.is_dir()) == ["code"]
    assert (result.model_dir / "code" / "inference.py").is_file()
    assert (result.model_dir / "code" / "smxgb" / "serving.py").is_file()
    assert not list((result.model_dir / "code").rglob("__pycache__"))
    booster = xgb.Booster()
    booster.load_model(bytearray((result.model_dir / "xgboost-model").read_bytes()))
    return booster


def assert_succeeded(result) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


def test_binary_csv_reaches_high_auc_with_early_stopping_and_writes_reports(tmp_path, breast_cancer, write_csv):
    (X_train, y_train), (X_val, y_val) = breast_cancer
    # GIVEN breast-cancer CSV channels and built-in style hyperparameters
    channels = {
        "train": write_csv(tmp_path / "train" / "part-0.csv", X_train, y_train),
        "validation": write_csv(tmp_path / "validation" / "part-0.csv", X_val, y_val),
        "test": write_csv(tmp_path / "test" / "part-0.csv", X_val, y_val),
    }
    hps = {"num_round": 200, "objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3, "eta": 0.2,
           "early_stopping_rounds": 10}
    # WHEN the job runs as in the container
    result = run_training("train.py", channels=channels, hyperparameters=hps, root=tmp_path / "ml")
    assert_succeeded(result)
    # THEN the served model separates the classes on held-out data
    booster = load_served_model(result)
    auc = roc_auc_score(y_val, booster.predict(xgb.DMatrix(X_val)))
    assert auc > 0.97
    # AND early stopping kept the best round, well before 200
    report = json.loads((result.output_data_dir / "metrics.json").read_text())
    assert booster.num_boosted_rounds() == report["best_iteration"] + 1 < 200
    # AND each round printed exactly one validation line and no train line
    rounds = re.findall(r"^\[(\d+)\]#validation-auc:([0-9.eE+-]+)$", result.stdout, flags=re.M)
    assert [int(r) for r, _ in rounds] == list(range(len(rounds)))
    assert "#train-" not in result.stdout and "\t" not in result.stdout
    assert max(float(v) for _, v in rounds) == pytest.approx(report["best_score"], abs=1e-6)
    # AND the test channel is scored with the final (best) model
    assert report["test"]["test:auc"] == pytest.approx(auc, abs=1e-6)
    # AND the side outputs exist
    importance = json.loads((result.output_data_dir / "feature_importance.json").read_text())
    assert importance["gain"] and (result.output_data_dir / "training_curve.png").stat().st_size > 1000


def test_multiclass_parquet_with_label_column(tmp_path, wine, write_parquet):
    (X_train, y_train), (X_val, y_val) = wine
    channels = {
        "train": write_parquet(tmp_path / "train" / "wine.parquet", X_train, y_train),
        "validation": write_parquet(tmp_path / "validation" / "wine.parquet", X_val, y_val),
    }
    hps = {"num_round": 60, "objective": "multi:softprob", "num_class": 3, "eval_metric": "mlogloss", "max_depth": 3}
    result = run_training("train.py", channels=channels, hyperparameters=hps, root=tmp_path / "ml")
    assert_succeeded(result)
    probabilities = load_served_model(result).predict(xgb.DMatrix(X_val))
    assert accuracy_score(y_val, probabilities.argmax(axis=1)) > 0.9


@pytest.mark.parametrize("data_mode", ["memory", "external"])
def test_regression_libsvm_in_memory_and_external(tmp_path, diabetes, data_mode):
    (X_train, y_train), (X_val, y_val) = diabetes
    # GIVEN diabetes data as libsvm, declared by content type as the built-in algorithm expects
    for name, (X, y) in {"train": (X_train, y_train), "validation": (X_val, y_val)}.items():
        (tmp_path / name).mkdir()
        dump_svmlight_file(X, y, str(tmp_path / name / "data"))
    hps = {"num_round": 80, "objective": "reg:squarederror", "eta": 0.05, "max_depth": 2, "data_mode": data_mode}
    result = run_training(
        "train.py",
        channels={"train": tmp_path / "train", "validation": tmp_path / "validation"},
        content_types={"train": "text/libsvm", "validation": "text/libsvm"},
        hyperparameters=hps,
        root=tmp_path / "ml",
    )
    assert_succeeded(result)
    assert f"data mode {data_mode}" in result.stdout
    # THEN it explains a sensible share of variance on held-out patients (linear models reach ~0.45)
    r2 = r2_score(y_val, load_served_model(result).predict(xgb.DMatrix(X_val)))
    assert r2 > 0.3


@pytest.mark.parametrize("data_mode", ["memory", "external"])
def test_binary_recordio_protobuf_in_memory_and_external(tmp_path, breast_cancer, data_mode):
    from tests.training import recordio_proto

    (X_train, y_train), (X_val, y_val) = breast_cancer
    # GIVEN RecordIO-protobuf channels as the SageMaker SDK writes them (float64 train in two extension-less
    # files, Int32 labels in validation), declared by content type as the built-in algorithms expect
    for name, parts in {"train": [(X_train[:200], y_train[:200]), (X_train[200:], y_train[200:])],
                        "validation": [(X_val, y_val)]}.items():
        for index, (X, y) in enumerate(parts):
            (tmp_path / name).mkdir(exist_ok=True)
            with open(tmp_path / name / f"part-{index}", "wb") as handle:
                labels = y.astype(float) if name == "train" else y.astype(int)
                recordio_proto.write_numpy_to_dense_tensor(handle, X.astype(float), labels)
    hps = {"num_round": 60, "objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3,
           "data_mode": data_mode}
    # WHEN train.py runs on them
    result = run_training(
        "train.py",
        channels={"train": tmp_path / "train", "validation": tmp_path / "validation"},
        content_types=dict.fromkeys(("train", "validation"), "application/x-recordio-protobuf"),
        hyperparameters=hps,
        root=tmp_path / "ml",
    )
    assert_succeeded(result)
    # THEN every record was read and the model separates the classes
    report = json.loads((result.output_data_dir / "metrics.json").read_text())
    assert (report["data"]["train_rows"], report["data"]["features"]) == (len(y_train), X_train.shape[1])
    assert roc_auc_score(y_val, load_served_model(result).predict(xgb.DMatrix(X_val))) > 0.97


def test_sampled_cuts_keep_quality(tmp_path, breast_cancer, write_csv):
    (X_train, y_train), (X_val, y_val) = breast_cancer
    channels = {
        "train": write_csv(tmp_path / "train.csv", X_train, y_train),
        "validation": write_csv(tmp_path / "validation.csv", X_val, y_val),
    }
    scores = {}
    for sample_rows in (0, 100):
        hps = {"num_round": 40, "objective": "binary:logistic", "max_depth": 3, "cuts_sample_rows": sample_rows}
        result = run_training("train.py", channels=channels, hyperparameters=hps, root=tmp_path / f"ml{sample_rows}")
        assert_succeeded(result)
        assert ("sampled rows" in result.stdout) == bool(sample_rows)
        scores[sample_rows] = roc_auc_score(y_val, load_served_model(result).predict(xgb.DMatrix(X_val)))
    assert abs(scores[0] - scores[100]) < 0.02 and min(scores.values()) > 0.97
