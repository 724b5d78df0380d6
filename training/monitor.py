"""Processing step: captured production requests + the model version's baseline -> drift report.

Inputs (processing channels):

* ``--baseline``: ``drift-baseline.json`` written at training time
  (:mod:`smxgb.drift`), registered with the model package version;
* ``--capture-dir``: data-capture ``.jsonl`` files of the endpoint since the
  last run (real-time endpoints), or batch-scoring inputs (CSV, no label);

Output: ``drift.json`` in ``--output-dir``, and one log line per figure,
``{"mlp_monitor": "<figure>", "value": v}``, that CloudWatch Logs metric
filters turn into metrics: the job runs with network isolation and cannot
call CloudWatch itself. Model Monitor is closed to new customers; this is an
ordinary processing job on the XGBoost image (numpy, scipy, pandas only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from smxgb import capture, drift, env, report
from smxgb.failure import UserError

DRIFT_REPORT_NAME = "drift.json"
BASELINE_NAME = report.DRIFT_BASELINE_FILE_NAME
METRIC_LOG_KEY = "mlp_monitor"


def build_parser() -> argparse.ArgumentParser:
    root = Path(env.PROCESSING_ROOT)
    parser = report.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=root / "baseline" / BASELINE_NAME)
    parser.add_argument("--capture-dir", type=Path, default=root / "capture")
    parser.add_argument("--output-dir", type=Path, default=root / "monitoring")
    parser.add_argument("--failure-dir", type=Path, default=report.DEFAULT_FAILURE_DIR)
    parser.add_argument("--psi-threshold", type=float, default=drift.DriftThresholds.psi_threshold)
    parser.add_argument("--ks-alpha", type=float, default=drift.DriftThresholds.ks_alpha)
    parser.add_argument("--min-rows", type=int, default=drift.DriftThresholds.min_rows)
    return parser


def read_baseline(path: Path) -> drift.Baseline:
    if path.is_dir():
        path = path / BASELINE_NAME
    if not path.is_file():
        raise UserError(f"no drift baseline at {path}; pass the model version's {BASELINE_NAME} (--baseline)")
    try:
        return drift.Baseline.read(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not a drift baseline ({exc}); use the file the training job wrote") from exc


def read_production(capture_dir: Path) -> capture.CapturedRows:
    if not capture_dir.is_dir():
        raise UserError(f"capture folder {capture_dir} does not exist; pass the endpoint's capture prefix")
    files = capture.capture_files(capture_dir)
    try:
        return capture.read_files(files)
    except capture.CaptureError as exc:
        raise UserError(f"{exc}; remove or fix that file") from exc


def log_metrics(result: drift.DriftReport) -> None:
    figures = {"rows": result.rows, "drifted_features": len(result.drifted), "max_psi": result.max_psi}
    for name, value in figures.items():
        print(json.dumps({METRIC_LOG_KEY: name, "value": value}), flush=True)


def run(args: argparse.Namespace) -> dict:
    try:
        thresholds = drift.DriftThresholds(args.psi_threshold, args.ks_alpha, args.min_rows)
    except ValueError as exc:
        raise UserError(f"{exc}; fix the monitoring thresholds in the configuration") from exc
    baseline = read_baseline(args.baseline)
    production = read_production(args.capture_dir)
    features = production.features
    if features.size == 0:
        features = np.empty((0, len(baseline.features)))
    try:
        result = drift.compare(baseline, features, thresholds)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    document = {**result.to_dict(), "requests": production.requests}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / DRIFT_REPORT_NAME).write_text(json.dumps(document, indent=1, allow_nan=False,
                                                                default=str))
    log_metrics(result)
    verdict = ", ".join(f"{f.name} (PSI {f.psi:.2f})" for f in result.drifted) or "none"
    print(f"monitor: {result.rows} rows from {production.requests} requests; drifted: {verdict}")
    return document


def main(argv: list[str] | None = None) -> None:
    report.processing_main(run, build_parser, argv)


if __name__ == "__main__":
    main()
