"""What a finished job leaves behind: the model, and reports for humans and pipelines.

The model directory holds exactly one file, ``xgboost-model`` (UBJSON): the
serving container loads every top-level file there as a model. Beside it, the
``code/`` directory carries the serving handlers, because an endpoint with
network isolation cannot fetch code from anywhere but the model artifact.
Everything else goes to ``SM_OUTPUT_DATA_DIR`` (uploaded as ``output.tar.gz``).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import xgboost as xgb

from smxgb import env

METRICS_FILE = "metrics.json"
IMPORTANCE_FILE = "feature_importance.json"
CURVE_FILE = "training_curve.png"
_SOURCE_DIR = Path(__file__).resolve().parents[1]


def strip_feature_names(booster: xgb.Booster) -> xgb.Booster:
    """Forget the Arrow column names (f0, f1, ...) XGBoost picked up while training.

    Requests to the endpoint are plain CSV/libsvm without names; a model that
    expects names rejects them.
    """
    booster.feature_names = None
    booster.feature_types = None
    return booster


#: Booster attributes (saved inside the model file) that evaluation reads.
APPROACH_ATTR = "approach"
VALIDATION_HISTORY_ATTR = "validation_history"


HYPERPARAMETERS_ATTR = "hyperparameters"


def describe_model(booster: xgb.Booster, hps: dict[str, Any], history: dict[str, dict[str, list[float]]]) -> None:
    """Record the approach, the hyperparameters and the validation metrics of every round in the model's
    own attributes, so any trial's artifact tells evaluation (and the model card) what it is."""
    validation = {metric: [float(v) for v in values] for metric, values in history.get("validation", {}).items()}
    settings = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in sorted(hps.items())}
    booster.set_attr(**{APPROACH_ATTR: hps["approach"], VALIDATION_HISTORY_ATTR: json.dumps(validation),
                        HYPERPARAMETERS_ATTR: json.dumps(settings)})


def save_model(booster: xgb.Booster, model_dir: Path) -> Path:
    strip_feature_names(booster)
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / env.MODEL_FILE_NAME
    target.write_bytes(booster.save_raw("ubj"))
    return target


def package_serving_code(model_dir: Path) -> Path:
    """Copy the serving handlers and the library they import into ``model_dir/code``."""
    code_dir = model_dir / env.SERVING_CODE_DIR
    shutil.rmtree(code_dir, ignore_errors=True)
    code_dir.mkdir(parents=True)
    shutil.copy2(_SOURCE_DIR / env.SERVING_PROGRAM, code_dir / env.SERVING_PROGRAM)
    shutil.copytree(_SOURCE_DIR / "smxgb", code_dir / "smxgb", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return code_dir


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def write_metrics(output_data_dir: Path, report: dict[str, Any]) -> Path:
    output_data_dir.mkdir(parents=True, exist_ok=True)
    target = output_data_dir / METRICS_FILE
    target.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    return target


def write_feature_importance(booster: xgb.Booster, output_data_dir: Path) -> Path:
    output_data_dir.mkdir(parents=True, exist_ok=True)
    importance = {kind: booster.get_score(importance_type=kind) for kind in ("gain", "weight", "cover")}
    target = output_data_dir / IMPORTANCE_FILE
    target.write_text(json.dumps(importance, indent=2, sort_keys=True) + "\n")
    return target


def write_training_curve(history: dict[str, dict[str, list[float]]], output_data_dir: Path) -> Path | None:
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display in the container
    import matplotlib.pyplot as plt

    pairs = [(data, metric, values) for data, by_metric in history.items() for metric, values in by_metric.items()]
    figure, axes = plt.subplots(len(pairs), 1, figsize=(7, 3 * len(pairs)), squeeze=False)
    for axis, (data, metric, values) in zip(axes[:, 0], pairs, strict=True):
        axis.plot(range(len(values)), values)
        axis.set_xlabel("round (this run)")
        axis.set_ylabel(f"{data}-{metric}")
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    target = output_data_dir / CURVE_FILE
    output_data_dir.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=80)
    plt.close(figure)
    return target


def final_metrics(history: dict[str, dict[str, list[float]]]) -> dict[str, float | None]:
    return {
        f"{data}:{metric}": _finite(float(values[-1]))
        for data, by_metric in history.items()
        for metric, values in by_metric.items()
    }
