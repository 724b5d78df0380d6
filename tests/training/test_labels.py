"""Label domains per objective: what the job rejects before training, checked against XGBoost itself."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from smxgb import hyperparams
from smxgb.labels import rule_for

VALUES = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 31.0, 32.0)
NUM_CLASS = 3
# Objectives this job can train from one label column (survival:aft needs bounds: a hyperparameter error).
OBJECTIVES = [o for o in hyperparams.OBJECTIVES if o != "survival:aft"]
# Where the job is stricter than XGBoost on purpose: the built-in algorithm's 0/1 classes for binary:*.
STRICTER = {"binary:logistic", "binary:logitraw", "binary:hinge"}


def _xgboost_accepts(objective: str, value: float) -> bool:
    features = np.arange(16, dtype=np.float32).reshape(8, 2)
    label = np.ones(8, dtype=np.float32)  # valid for every objective: only row 0 is under test
    label[0] = value
    params = {"objective": objective, "verbosity": 0, "nthread": 1}
    if objective.startswith("multi:"):
        params["num_class"] = NUM_CLASS
    if objective == "reg:quantileerror":
        params["quantile_alpha"] = 0.5
    try:
        xgb.train(params, xgb.DMatrix(features, label), 1)
    except xgb.core.XGBoostError:
        return False
    return True


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_label_xgboost_rejects_is_rejected_first_and_only_binary_is_stricter(objective):
    rule = rule_for(objective, NUM_CLASS)
    for value in VALUES:
        ours = True if rule is None else bool(rule.valid(np.array([value], dtype=np.float32))[0])
        theirs = _xgboost_accepts(objective, value)
        # THEN a label XGBoost would reject with a C++ error never reaches it
        if not theirs:
            assert not ours, f"{objective} label {value}: XGBoost rejects it, the job does not"
        # AND the job rejects nothing XGBoost accepts, except the 0/1 convention of binary:*
        if objective not in STRICTER:
            assert ours == theirs, f"{objective} label {value}: job {ours}, XGBoost {theirs}"


@pytest.mark.parametrize(
    ("objective", "num_class", "label", "requirement"),
    [
        ("binary:logistic", None, 2.0, r"labels 0 or 1"),
        ("binary:hinge", None, -1.0, r"labels 0 or 1"),
        ("multi:softprob", 3, 3.0, r"class indices 0\.\.2"),
        ("multi:softmax", 4, 1.5, r"class indices 0\.\.3"),
        ("reg:logistic", None, 1.5, r"labels in \[0, 1\]"),
        ("reg:gamma", None, 0.0, r"greater than 0"),
        ("reg:tweedie", None, -0.1, r"labels >= 0"),
        ("count:poisson", None, -1.0, r"labels >= 0"),
        ("reg:squaredlogerror", None, -1.0, r"greater than -1"),
        ("rank:ndcg", None, 32.0, r"integer relevance degrees 0\.\.31"),
        ("rank:map", None, 2.0, r"labels 0 or 1"),
    ],
)
def test_bad_label_names_file_row_value_objective_and_fix(tmp_path, objective, num_class, label, requirement):
    from smxgb.data import check_labels
    from smxgb.failure import UserError

    # GIVEN a label outside the objective's domain in row 3
    labels = np.array([1, 1, label, 1], dtype=np.float32)
    # WHEN checked THEN the one-line error names the file, the row, the value, the objective and a fix
    with pytest.raises(UserError, match=rf"d\.csv row 3 has label {label:g} but objective={objective} needs "
                                        rf"[^;]*{requirement}[^;]*\(1 such rows in channel 'train'\); \S") as caught:
        check_labels(labels, tmp_path / "d.csv", 1, rule_for(objective, num_class), "train")
    assert "\n" not in str(caught.value)


def test_objectives_without_a_domain_only_need_finite_labels():
    for objective in ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "survival:cox",
                      "rank:pairwise"):
        assert rule_for(objective) is None


@pytest.mark.parametrize(
    ("hps", "message"),
    [
        ({"objective": "survival:aft"}, r"survival:aft needs lower and upper label bounds.*use survival:cox"),
        ({"objective": "reg:quantileerror"}, r"quantile_alpha is required with objective=reg:quantileerror"),
    ],
)
def test_objectives_this_data_cannot_train_fail_as_hyperparameter_errors(hps, message):
    from smxgb.failure import UserError

    with pytest.raises(UserError, match=message):
        hyperparams.parse({"num_round": "1", **hps})
