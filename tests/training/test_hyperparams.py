"""Hyperparameter parsing: built-in names, ranges, and messages that say how to fix a value."""

from __future__ import annotations

import json
import re

import pytest


def test_strings_as_sagemaker_passes_them_become_typed_values_with_defaults():
    from smxgb.hyperparams import from_argv_and_env

    # GIVEN hyperparameters as the toolkit passes them: all strings, '--name value'
    argv = ["--num_round", "100", "--eta", "0.3", "--max_depth=6", "--eval_metric", "auc,logloss"]
    # WHEN parsed
    hps = from_argv_and_env(argv, sm_hps=json.dumps({"num_round": 100, "_tuning_objective_metric": "validation:auc"}))
    # THEN values are typed, defaults filled, tuning-job extras ignored
    assert hps["num_round"] == 100 and isinstance(hps["num_round"], int)
    assert hps["eta"] == pytest.approx(0.3)
    assert hps["max_depth"] == 6
    assert hps["eval_metric"] == ["auc", "logloss"]
    assert hps["tree_method"] == "hist"
    assert "_tuning_objective_metric" not in hps


def test_command_line_wins_over_sm_hps():
    from smxgb.hyperparams import from_argv_and_env

    hps = from_argv_and_env(["--num_round", "7"], sm_hps='{"num_round": 3, "eta": 0.1}')
    assert hps["num_round"] == 7 and hps["eta"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"num_round": "10", "etaa": "0.1"}, r"unknown hyperparameter 'etaa': did you mean 'eta'\?"),
        ({"num_round": "10", "eta": "1.5"}, r"eta='1.5' is invalid: must be a number in \[0, 1\]; set eta"),
        ({"num_round": "10", "subsample": "0"}, r"subsample='0' is invalid: must be a number in \(0, 1\]"),
        ({"num_round": "0"}, r"num_round='0' is invalid: must be an integer in \[1, inf\]"),
        ({"num_round": "ten"}, r"num_round='ten' is invalid"),
        ({"num_round": "10", "max_depth": "2.5"}, r"max_depth='2.5' is invalid: must be an integer"),
        ({"num_round": "10", "objective": "binary:logit"}, r"objective='binary:logit' is invalid: must be one of"),
        ({"num_round": "10", "eval_metric": "auc,acc"}, r"eval_metric='auc,acc' is invalid"),
        ({"num_round": "10", "tree_method": "gpu_hist"}, r"gpu_hist.*use tree_method=hist.*device=cuda"),
        ({"eta": "0.1"}, r"hyperparameter num_round is required"),
        ({"num_round": "5", "objective": "multi:softmax"}, r"num_class is required with objective=multi:softmax"),
        ({"num_round": "5", "num_class": "3"}, r"num_class only applies to multi:\* objectives"),
    ],
)
def test_invalid_hyperparameters_name_the_parameter_the_range_and_the_fix(raw, pattern):
    from smxgb.failure import UserError
    from smxgb.hyperparams import parse

    with pytest.raises(UserError, match=pattern):
        parse(raw)


def test_spec_exposes_builtin_names_with_ranges_for_tuning():
    from smxgb.hyperparams import SPEC, ranges

    # THEN the tunable built-in hyperparameters carry their documented bounds
    assert SPEC["eta"].kind == "float" and (SPEC["eta"].low, SPEC["eta"].high) == (0, 1)
    assert SPEC["max_depth"].kind == "int" and SPEC["max_depth"].contains(10)
    assert not SPEC["subsample"].contains(0) and SPEC["subsample"].contains(1)
    assert SPEC["num_round"].required
    assert set(SPEC["tree_method"].choices) == {"auto", "exact", "approx", "hist"}
    plain = ranges()
    assert json.loads(json.dumps(plain)) == plain  # JSON-safe for infra and docs
    assert plain["alpha"]["high"] is None


def test_xgboost_params_drop_job_only_settings():
    from smxgb.hyperparams import parse, xgboost_params

    params = xgboost_params(parse({"num_round": "5", "early_stopping_rounds": "3", "eta": "0.2"}))
    assert "num_round" not in params and "early_stopping_rounds" not in params and "checkpoint_frequency" not in params
    assert params["eta"] == pytest.approx(0.2)


def test_metric_regex_parses_the_printed_line_and_nothing_else():
    from smxgb.metrics import METRIC_REGEX, format_line, metric_definitions, metric_regex

    # GIVEN the line the training callback prints for round 12
    line = format_line(12, "validation", "auc", 0.9123456)
    assert line == "[12]#validation-auc:0.9123456"
    # WHEN the tuning job's regex runs over it THEN it captures the value
    assert float(re.search(metric_regex("validation:auc"), line).group(1)) == pytest.approx(0.9123456)
    # AND the regex of a metric with a shared prefix does not match it
    assert re.search(METRIC_REGEX["validation:aucpr"], line) is None
    assert re.search(METRIC_REGEX["train:auc"], line) is None
    # AND tiny and huge values keep their significant digits
    for value in (1.5e-7, 123456.789):
        captured = re.search(metric_regex("validation:rmse"), format_line(3, "validation", "rmse", value)).group(1)
        assert float(captured) == pytest.approx(value, rel=1e-7)
    assert {"Name": "validation:auc", "Regex": METRIC_REGEX["validation:auc"]} in metric_definitions()


@pytest.mark.parametrize(("num_gpus", "device"), [(0, None), (1, "cuda")])
def test_gpu_instances_train_with_device_cuda_and_hist(num_gpus, device):
    from smxgb.hyperparams import parse
    from smxgb.trainer import booster_params

    # GIVEN an instance with or without GPUs (SM_NUM_GPUS)
    params = booster_params(parse({"num_round": "5"}), num_gpus=num_gpus, nthread=2)
    # THEN XGBoost 3's device switch is used, never the removed gpu_hist
    assert params.get("device") == device
    assert params["tree_method"] == "hist" and params["nthread"] == 2
