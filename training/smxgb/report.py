"""What processing jobs report: the model-quality evaluation JSON and the exit message.

The evaluation report follows SageMaker's model-quality metrics format, so one
file serves both the model registry (``ModelMetrics.ModelStatistics``, content
type ``application/json``) and a pipeline ``PropertyFile`` read with
``JsonGet(step, property_file, json_path=...)``. The ``*_PATH`` constants below
are those ``json_path`` values, for the pipeline stack to import.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

from smxgb import env, schema
from smxgb.failure import UserError, run_main

# Where the evaluation step writes, and what the pipeline's PropertyFile names.
EVALUATION_FILE_NAME = "evaluation.json"
EVALUATION_CONTENT_TYPE = "application/json"
# Per-feature statistics of the training split (smxgb.drift), registered with the model
# version as its data-quality drift baseline and read by the monitoring job.
DRIFT_BASELINE_FILE_NAME = "drift-baseline.json"
DRIFT_BASELINE_CONTENT_TYPE = "application/json"

SECTIONS = {
    schema.BINARY: "binary_classification_metrics",
    schema.MULTICLASS: "multiclass_classification_metrics",
    schema.REGRESSION: "regression_metrics",
}

# JsonGet json_path values (each metric is {"value": v, "standard_deviation": s}).
BINARY_AUC_PATH = "binary_classification_metrics.auc.value"
BINARY_ACCURACY_PATH = "binary_classification_metrics.accuracy.value"
BINARY_F1_PATH = "binary_classification_metrics.f1.value"
BINARY_PRECISION_PATH = "binary_classification_metrics.precision.value"
BINARY_RECALL_PATH = "binary_classification_metrics.recall.value"
MULTICLASS_ACCURACY_PATH = "multiclass_classification_metrics.accuracy.value"
MULTICLASS_WEIGHTED_F1_PATH = "multiclass_classification_metrics.weighted_f1.value"
REGRESSION_RMSE_PATH = "regression_metrics.rmse.value"
REGRESSION_MSE_PATH = "regression_metrics.mse.value"
REGRESSION_MAE_PATH = "regression_metrics.mae.value"
REGRESSION_R2_PATH = "regression_metrics.r2.value"
# The metric a quality gate should use per problem type, and whether higher is better.
PRIMARY_METRIC_PATH = {
    schema.BINARY: (BINARY_AUC_PATH, True),
    schema.MULTICLASS: (MULTICLASS_ACCURACY_PATH, True),
    schema.REGRESSION: (REGRESSION_RMSE_PATH, False),
}

# SageMaker Processing returns the first 1 KB of this file as DescribeProcessingJob's
# ExitMessage (training jobs use /opt/ml/output/failure instead).
EXIT_MESSAGE_FILE_NAME = "message"
FAILURE_FILE_NAME = "failure"
DEFAULT_FAILURE_DIR = Path("/opt/ml/output")


def default_failure_dir() -> Path:
    """``/opt/ml/output``, or under the local runner's root."""
    return env.root() / DEFAULT_FAILURE_DIR.relative_to(env.OPT_ML)


def metric(value: float, standard_deviation: float | None) -> dict:
    return {"value": _json_number(value), "standard_deviation": _json_number(standard_deviation)}


def _json_number(number: float | None) -> float | None:
    # JSON has no NaN; a metric that is undefined (AUC with one class present) is null.
    if number is None or not math.isfinite(number):
        return None
    return float(number)


def json_get(report: dict, json_path: str):
    """Resolve a dotted ``json_path`` the way the pipeline's JsonGet does for these paths."""
    node = report
    for part in json_path.split("."):
        node = node[part]
    return node


def write_report(report: dict, output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / EVALUATION_FILE_NAME
    target.write_text(json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return target


def run_processing_main(main: Callable[[], None], *, failure_dir: Path) -> None:
    """``run_main`` for processing jobs: the reason also lands in the ExitMessage file."""
    try:
        run_main(main, output_dir=failure_dir)
    except SystemExit as exit_:
        failure = failure_dir / FAILURE_FILE_NAME
        if exit_.code not in (0, None) and failure.is_file():
            (failure_dir / EXIT_MESSAGE_FILE_NAME).write_text(failure.read_text())
        raise


def processing_main(run: Callable[[argparse.Namespace], object], build_parser: Callable[[], argparse.ArgumentParser],
                    argv: list[str] | None = None) -> None:
    """A processing script's ``main``: parse ``argv`` and ``run``, every failure reported by
    :func:`run_processing_main` in the failure directory the arguments name."""
    argv = sys.argv[1:] if argv is None else argv
    # The failure directory must be known before the remaining arguments can be trusted.
    run_processing_main(lambda: run(build_parser().parse_args(argv)), failure_dir=failure_dir_from_argv(argv))


class ArgumentParser(argparse.ArgumentParser):
    """Bad arguments become a UserError, so they reach the failure file like any other failure."""

    def error(self, message: str):
        raise UserError(f"bad arguments: {message}; see the script's --help for the accepted arguments")


def failure_dir_from_argv(argv: list[str]) -> Path:
    """``--failure-dir`` alone, so a failure to parse the other arguments is still reported there."""
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--failure-dir", type=Path, default=default_failure_dir())
    return scan.parse_known_args(argv)[0].failure_dir
