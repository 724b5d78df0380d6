"""Resuming from checkpoints with early stopping: the best round is a round of the whole run."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from smxgb import trainer


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + rng.normal(scale=2.0, size=600) > 0).astype(int)
    return xgb.DMatrix(X[:400], label=y[:400]), xgb.DMatrix(X[400:], label=y[400:])


PARAMS = {"objective": "binary:logistic", "eval_metric": "auc", "eta": 0.3, "max_depth": 3, "nthread": 1}


def test_a_retried_job_resumes_an_early_stopped_run_and_serves_its_best_round(tmp_path) -> None:
    # GIVEN a first attempt that stopped early and left checkpoints
    dtrain, dvalid = _data()
    first = trainer.train(PARAMS, dtrain, dvalid, num_round=200, early_stopping_rounds=5,
                          checkpoint_dir=tmp_path, checkpoint_frequency=2)
    assert first.best_iteration is not None and first.booster.num_boosted_rounds() < 200
    # WHEN the job is retried with the same checkpoint directory (a spot restart or RetryStrategy)
    second = trainer.train(PARAMS, dtrain, dvalid, num_round=200, early_stopping_rounds=5,
                           checkpoint_dir=tmp_path, checkpoint_frequency=2)
    # THEN it resumes, and its best round is a round the booster has (XGBoost counts it from round 0)
    assert second.resumed_from is not None
    assert second.best_iteration is not None
    assert second.booster.num_boosted_rounds() == second.best_iteration + 1
