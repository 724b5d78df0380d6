"""In-memory and external-memory matrices hold the same data and train equally well."""

from __future__ import annotations

import gzip
import shutil

import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def test_external_memory_streams_many_files_to_the_same_model_quality(tmp_path, breast_cancer, write_csv):
    from smxgb import data, matrices, trainer

    (X_train, y_train), (X_val, y_val) = breast_cancer
    # GIVEN training data spread over a plain and a gzip CSV file
    write_csv(tmp_path / "train" / "a.csv", X_train[:200], y_train[:200])
    plain = write_csv(tmp_path / "b.csv", X_train[200:], y_train[200:])
    with open(plain, "rb") as src, gzip.open(tmp_path / "train" / "b.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    write_csv(tmp_path / "validation" / "v.csv", X_val, y_val)
    train = data.open_channel("train", tmp_path / "train")
    validation = data.open_channel("validation", tmp_path / "validation")
    # WHEN matrices are built both ways
    in_memory = matrices.build_in_memory(
        data.load_channel(train), data.load_channel(validation), max_bin=64, nthread=1, cuts_sample_rows=0
    )
    external = matrices.build_external(train, validation, max_bin=64, nthread=1, cache_dir=tmp_path)
    # THEN they hold the same rows and features
    assert (external.n_train_rows, external.n_validation_rows, external.n_features) == (
        in_memory.n_train_rows, in_memory.n_validation_rows, in_memory.n_features,
    ) == (len(y_train), len(y_val), X_train.shape[1])
    # AND models trained on either separate the classes equally well
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "tree_method": "hist", "max_bin": 64}
    aucs = []
    for built in (in_memory, external):
        result = trainer.train(params, built.train, built.validation, num_round=30)
        aucs.append(roc_auc_score(y_val, result.booster.predict(xgb.DMatrix(X_val))))
    assert min(aucs) > 0.97
    assert aucs[0] == pytest.approx(aucs[1], abs=0.01)


def test_validation_with_other_width_is_rejected_before_training(tmp_path, breast_cancer, write_csv):
    from smxgb import data
    from smxgb.failure import UserError

    (X_train, y_train), (X_val, y_val) = breast_cancer
    train = data.load_channel(data.open_channel("train", write_csv(tmp_path / "t.csv", X_train, y_train)))
    narrow = data.open_channel("validation", write_csv(tmp_path / "v.csv", X_val[:, :5], y_val))
    with pytest.raises(UserError, match=r"v.csv in channel 'validation' has 5 features but 30 were expected"):
        data.load_channel(narrow, train.n_features)
