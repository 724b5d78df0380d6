"""What the pipeline takes from the training code: the one place that imports ``training/``.

The container puts the source directory on ``sys.path`` and the scripts import
their library as ``smxgb``; synth does the same so the names below are the
scripts' own (metric regexes, hyperparameter spec, report paths), never copies.
These modules import only the standard library, so synth stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.append(str(TRAINING_DIR))

from smxgb import card, hyperparams, metrics, report  # noqa: E402
from smxgb.env import (  # noqa: E402
    DEFAULT_CHECKPOINT_DIR,
    PROCESSING_ROOT,
    SERVING_ENVIRONMENT,
    SERVING_REQUEST_CONTENT_TYPES,
    SERVING_RESPONSE_CONTENT_TYPES,
    TRAINING_ENVIRONMENT,
)

#: The tuning objective, named as the built-in algorithm and train.py's log line name it.
OBJECTIVE_METRIC = "validation:auc"
#: Metrics the tuning job records. train.py scores only the validation set
#: when it has one (scoring train every round costs a third of the run).
RECORDED_METRICS = (OBJECTIVE_METRIC,)
#: The report field the quality gate compares with the AUC threshold.
AUC_JSON_PATH = report.BINARY_AUC_PATH
EVALUATION_FILE_NAME = report.EVALUATION_FILE_NAME
DRIFT_BASELINE_FILE_NAME = report.DRIFT_BASELINE_FILE_NAME
DRIFT_BASELINE_CONTENT_TYPE = report.DRIFT_BASELINE_CONTENT_TYPE
EVALUATION_CONTENT_TYPE = report.EVALUATION_CONTENT_TYPE
#: The model card evaluation writes and RegisterModel reads (``{"content": "<card JSON>"}``).
MODEL_CARD_FILE_NAME = card.MODEL_CARD_FILE_NAME
MODEL_CARD_CONTENT_PATH = card.CONTENT_PATH
MODEL_CARD_STATUS = card.STATUS
#: Script-mode entry points, at the top level of the code tarball.
TRAIN_SCRIPT = "train.py"
PREPROCESS_SCRIPT = "preprocess.py"
SPARK_PREPROCESS_SCRIPT = "spark_preprocess.py"
EVALUATE_SCRIPT = "evaluate.py"
#: The data channels train.py reads through ``SM_CHANNEL_<NAME>``.
TRAINING_CHANNELS = ("train", "validation")
SPLITS = ("train", "validation", "test")


def metric_definitions() -> list[dict[str, str]]:
    return metrics.metric_definitions(list(RECORDED_METRICS))


def accepted_hyperparameters() -> frozenset[str]:
    return frozenset(hyperparams.SPEC)


__all__ = [
    "DEFAULT_CHECKPOINT_DIR",
    "PROCESSING_ROOT",
    "SERVING_ENVIRONMENT",
    "SERVING_REQUEST_CONTENT_TYPES",
    "SERVING_RESPONSE_CONTENT_TYPES",
    "TRAINING_ENVIRONMENT",
    "hyperparams",
    "metrics",
    "report",
]
