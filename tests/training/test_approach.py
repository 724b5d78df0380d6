"""The two approaches of train.py: gradient boosting and a random forest grown by XGBoost itself."""

from __future__ import annotations

import json
import re

import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from training.local_runner import run_training


def test_forest_defaults_are_xgboosts_random_forest_recipe():
    from smxgb.hyperparams import parse, xgboost_params

    # GIVEN only the approach (no num_round: a forest has one)
    hps = parse({"approach": "forest", "objective": "binary:logistic"})
    # THEN one round of 100 trees at learning rate 1, each on a sample of rows and of columns per split
    assert hps["num_round"] == 1 and hps["eta"] == 1.0 and hps["num_parallel_tree"] == 100
    assert hps["subsample"] == 0.8 and hps["colsample_bynode"] == 0.8
    # AND approach is this job's own setting, never an XGBoost parameter
    assert "approach" not in xgboost_params(hps)


def test_boosting_stays_the_default_and_keeps_num_round_required():
    from smxgb.failure import UserError
    from smxgb.hyperparams import parse

    assert parse({"num_round": "10"})["approach"] == "boosting"
    with pytest.raises(UserError, match=r"num_round is required"):
        parse({"approach": "boosting"})


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"num_round": "50"}, r"num_round=50 does not fit approach=forest: .*set the number of trees with "
                              r"num_parallel_tree"),
        ({"eta": "0.1"}, r"eta=0.1 does not fit approach=forest: .*remove eta \(or set it to 1\)"),
        ({"early_stopping_rounds": "10"}, r"early_stopping_rounds does not fit approach=forest: .*remove"),
        ({"num_parallel_tree": "1"}, r"num_parallel_tree=1 does not fit approach=forest: .*set num_parallel_tree >= 2"),
        ({"subsample": "1", "colsample_bynode": "1"}, r"every tree is the same tree; set subsample < 1 or "
                                                      r"colsample_bynode < 1"),
        ({"approach": "bagging"}, r"approach='bagging' is invalid: must be one of boosting, forest"),
    ],
)
def test_forest_refuses_settings_that_make_it_something_else_naming_the_fix(raw, pattern):
    from smxgb.failure import UserError
    from smxgb.hyperparams import parse

    with pytest.raises(UserError, match=pattern):
        parse({"approach": "forest", **raw})


def test_forest_trains_through_train_py_and_its_model_says_so(tmp_path, breast_cancer, write_csv):
    (X_train, y_train), (X_val, y_val) = breast_cancer
    channels = {
        "train": write_csv(tmp_path / "train" / "part-0.csv", X_train, y_train),
        "validation": write_csv(tmp_path / "validation" / "part-0.csv", X_val, y_val),
    }
    # GIVEN the forest approach with 40 trees
    hps = {"approach": "forest", "num_parallel_tree": 40, "objective": "binary:logistic", "eval_metric": "auc",
           "max_depth": 6}
    # WHEN train.py runs as in the container
    result = run_training("train.py", channels=channels, hyperparameters=hps, root=tmp_path / "ml")
    assert result.returncode == 0, result.stderr[-3000:]
    booster = xgb.Booster()
    booster.load_model(bytearray((result.model_dir / "xgboost-model").read_bytes()))
    # THEN the model is one round of 40 trees that separates the classes
    assert booster.num_boosted_rounds() == 1 and len(booster.get_dump()) == 40
    assert roc_auc_score(y_val, booster.predict(xgb.DMatrix(X_val))) > 0.95
    # AND the one round printed the line the tuner's regex reads
    assert re.findall(r"^\[0\]#validation-auc:[0-9.]+$", result.stdout, flags=re.M)
    # AND the model itself records its approach and validation history for evaluation
    assert booster.attr("approach") == "forest"
    assert len(json.loads(booster.attr("validation_history"))["auc"]) == 1
    assert json.loads((result.output_data_dir / "metrics.json").read_text())["approach"] == "forest"
