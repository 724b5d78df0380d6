"""Processing step: captured production requests + the model version's baseline -> drift report.

Inputs (processing channels):

* ``--baseline``: ``drift-baseline.json`` written at training time
  (:mod:`smxgb.drift`), registered with the model package version;
* ``--capture-dir``: what the model scored: data-capture ``.jsonl`` files of
  the endpoint (real-time endpoints; only the ``--window-hours`` hour folders
  before ``--window-end``, the run's start), and batch-scoring outputs
  (``<row_id>,<features...>,<prediction>``, ``.out`` or ``.csv``);
* ``--ground-truth-dir`` (optional): labels uploaded later, ``<row_id>,<label>``
  CSV; joined by row or inference id, they give the model's quality in
  production (:mod:`smxgb.quality`), with the figures ``evaluate.py`` reports.

``--publish-baseline FILE`` instead copies a registered version's baseline to
``--output-dir`` after checking it: the monitoring pipeline runs it when a
version is deployed, so that scheduled runs find the served version's
baseline at one fixed place.

Output: ``drift.json`` in ``--output-dir``, and one log line per figure,
``{"mlp_monitor": "<figure>", "value": v}``, that CloudWatch Logs metric
filters turn into metrics: the job runs with network isolation and cannot
call CloudWatch itself. Model Monitor is closed to new customers; this is an
ordinary processing job on the XGBoost image (numpy, scipy, pandas only).
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from smxgb import capture, drift, env, quality, report, schema
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
    parser.add_argument("--ground-truth-dir", type=Path, default=None)
    parser.add_argument("--problem-type", default=schema.BINARY, choices=sorted(quality.PUBLISHED),
                        help="what the predictions are, for the quality figures")
    parser.add_argument("--window-end", default="", help="ISO time the window ends (the run's start); default: now")
    parser.add_argument("--window-hours", type=int, default=0,
                        help="hours of data capture before --window-end to read; 0 reads every capture file")
    parser.add_argument("--publish-baseline", type=Path, default=None,
                        help="check this baseline and copy it to --output-dir instead of monitoring")
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


def window_end(text: str) -> datetime:
    """The window's end as naive UTC (Pipelines' ``Execution.StartDateTime`` is ISO 8601)."""
    if not text:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserError(f"--window-end {text!r} is not an ISO 8601 time; pass e.g. 2026-12-02T06:00:00Z") from exc
    if moment.utcoffset() is not None:
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    return moment


def read_production(capture_dir: Path, *, end: datetime | None = None, hours: int = 0) -> capture.CapturedRows:
    if not capture_dir.is_dir():
        raise UserError(f"capture folder {capture_dir} does not exist; pass the endpoint's capture prefix")
    files = capture.capture_files(capture_dir)
    if hours > 0:
        files = capture.in_window(files, end or datetime.now(UTC).replace(tzinfo=None), hours)
    try:
        return capture.combine([capture.read_files(files), capture.read_batch_files(capture.batch_files(capture_dir))])
    except capture.CaptureError as exc:
        raise UserError(f"{exc}; remove or fix that file") from exc


def log_metrics(figures: dict[str, float]) -> None:
    for name, value in figures.items():
        print(json.dumps({METRIC_LOG_KEY: name, "value": value}), flush=True)


def drift_figures(result: drift.DriftReport) -> dict[str, float]:
    return {"rows": result.rows, "drifted_features": len(result.drifted), "max_psi": result.max_psi}


def model_quality(production: capture.CapturedRows, ground_truth: Path | None, problem_type: str) -> dict:
    """Quality figures where labels were uploaded: ``{"labelled_rows": n, "metrics": {...}}``."""
    if ground_truth is None:
        return {"labelled_rows": 0, "metrics": {}}
    try:
        labels = quality.read_ground_truth(ground_truth)
    except quality.GroundTruthError as exc:
        raise UserError(f"{exc}; fix or remove that file from the ground-truth prefix") from exc
    joined = quality.join(production.row_ids, production.predictions, labels)
    metrics: dict[str, float] = {}
    if joined.labels.size:
        import evaluate  # the training-time figures, computed the same way

        if problem_type == schema.BINARY:
            if not np.isin(joined.labels, (0.0, 1.0)).all():
                raise UserError("binary ground truth must be 0 or 1; fix the labels or pass --problem-type")
            computed = evaluate.binary_metrics(joined.labels.astype(np.int64), joined.predictions, 0.5)
        else:
            computed = evaluate.regression_metrics(joined.labels, joined.predictions)
        metrics = {name: computed[name] for name in quality.PUBLISHED[problem_type]
                   if math.isfinite(computed[name])}
    return {"labelled_rows": int(joined.labels.size), "ground_truth_rows": joined.label_rows, "metrics": metrics}


def publish(args: argparse.Namespace) -> dict:
    baseline = read_baseline(args.publish_baseline)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    target = args.output_dir / BASELINE_NAME
    baseline.write(target)
    print(f"monitor: published the baseline of {len(baseline.features)} features to {target}")
    return {"published": str(target), "features": len(baseline.features)}


def run(args: argparse.Namespace) -> dict:
    if args.publish_baseline is not None:
        return publish(args)
    try:
        thresholds = drift.DriftThresholds(args.psi_threshold, args.ks_alpha, args.min_rows)
    except ValueError as exc:
        raise UserError(f"{exc}; fix the monitoring thresholds in the configuration") from exc
    baseline = read_baseline(args.baseline)
    end = window_end(args.window_end)
    production = read_production(args.capture_dir, end=end, hours=args.window_hours)
    features = production.features
    if features.size == 0:
        features = np.empty((0, len(baseline.features)))
    try:
        result = drift.compare(baseline, features, thresholds)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    model = model_quality(production, args.ground_truth_dir, args.problem_type)
    window = {"end": end.isoformat() + "Z", "hours": args.window_hours} if args.window_hours > 0 else None
    document = {**result.to_dict(), "requests": production.requests, "quality": model, "window": window}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / DRIFT_REPORT_NAME).write_text(json.dumps(document, indent=1, allow_nan=False,
                                                                default=str))
    figures = drift_figures(result)
    if model["labelled_rows"]:
        figures["labelled_rows"] = model["labelled_rows"]
        figures.update({f"quality_{name}": value for name, value in model["metrics"].items()})
    log_metrics(figures)
    verdict = ", ".join(f"{f.name} (PSI {f.psi:.2f})" for f in result.drifted) or "none"
    print(f"monitor: {result.rows} rows from {production.requests} requests; drifted: {verdict}")
    if model["metrics"]:
        print("monitor: quality on {} labelled rows: {}".format(
            model["labelled_rows"], ", ".join(f"{k} {v:.4f}" for k, v in model["metrics"].items())))
    return document


def main(argv: list[str] | None = None) -> None:
    report.processing_main(run, build_parser, argv)


if __name__ == "__main__":
    main()
