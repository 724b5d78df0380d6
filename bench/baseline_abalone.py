"""The reference: how aws/amazon-sagemaker-examples' abalone XGBoost script mode example trains.

``pandas.read_csv(header=None)`` -> label = column 0 -> ``xgb.DMatrix`` ->
``xgb.train`` with ``evals=[(dtrain, "train"), (dval, "validation")]``,
``tree_method=hist``. Kept as the example does it, so the comparison is fair.
"""

from __future__ import annotations

import time

import pandas as pd
import xgboost as xgb


def run(train_csv: str, validation_csv: str, params: dict, num_round: int) -> dict:
    started = time.perf_counter()
    train_df = pd.read_csv(train_csv, header=None)
    validation_df = pd.read_csv(validation_csv, header=None)
    loaded = time.perf_counter()
    dtrain = xgb.DMatrix(train_df.loc[:, 1:], label=train_df.loc[:, 0])
    dval = xgb.DMatrix(validation_df.loc[:, 1:], label=validation_df.loc[:, 0])
    built = time.perf_counter()
    history: dict = {}
    xgb.train(
        params, dtrain, num_boost_round=num_round, evals=[(dtrain, "train"), (dval, "validation")],
        evals_result=history, verbose_eval=False,
    )
    trained = time.perf_counter()
    return {
        "load_s": loaded - started,
        "build_s": built - loaded,
        "train_s": trained - built,
        "total_s": trained - started,
        "auc": history["validation"]["auc"][-1],
    }
