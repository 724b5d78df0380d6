"""The demo's closing of the ML cycle: shifted production traffic, the drift check, retraining.

Served traffic is captured in SageMaker's data-capture format (what a real-time
endpoint writes under the model bucket, in the current hour's folder), the
deployed monitoring pipeline is run locally twice (the deployment's run that
publishes the version's registered baseline, then the schedule's run against
the capture), and a drift verdict goes through the retraining guard's decision
(``tools/retrain_guard.py``, the state machine's requests against the
emulator's lock table) before the training pipeline runs again with
``RetrainReason=drift``. On AWS the verdict reaches the guard through the
drift alarm and its EventBridge rule.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from stacks.config import PlatformConfig
from tools.pipeline_runner.serving import predict_csv
from tools.pipeline_runner.storage import S3Storage

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING_DIR = REPO_ROOT / "training"
#: Two features moved by this many training standard deviations: a sensor recalibrated, say.
SHIFTED_FEATURES = ("mean radius", "mean texture")
SHIFT_SDS = 1.0
ROWS_PER_REQUEST = 20
PLOT_FILE = REPO_ROOT / "demo-output" / "drift.png"


@dataclass(frozen=True)
class DriftCheck:
    report: dict
    capture_uri: str
    plot: Path | None

    @property
    def drifted(self) -> list[str]:
        return self.report["drifted_features"]


def _training_code():
    """``training/``'s ``smxgb``, imported as the container imports it (its folder on sys.path)."""
    if str(TRAINING_DIR) not in sys.path:
        sys.path.insert(0, str(TRAINING_DIR))
    import smxgb.capture
    import smxgb.drift

    return smxgb


def read_baseline(storage: S3Storage, uri: str):
    """The drift baseline a model version registered (``DriftCheckBaselines``), from S3."""
    return _training_code().drift.Baseline.from_json(storage.read(uri).decode())


def shifted_traffic(features: np.ndarray, names: list[str], baseline) -> np.ndarray:
    """``features`` with :data:`SHIFTED_FEATURES` moved by :data:`SHIFT_SDS` training standard deviations."""
    moved = features.copy()
    by_name = {f.name: f for f in baseline.features}
    for name in SHIFTED_FEATURES:
        moved[:, names.index(name)] += SHIFT_SDS * by_name[name].std
    return moved


def capture(config: PlatformConfig, storage: S3Storage, model_url: str, rows: np.ndarray) -> str:
    """Send ``rows`` to the model's handlers in requests of :data:`ROWS_PER_REQUEST` rows and write each
    request and response as the endpoint's data capture would; the capture folder's S3 URI."""
    capture_record = _training_code().capture.capture_record
    lines = []
    for start in range(0, len(rows), ROWS_PER_REQUEST):
        body = "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows[start:start + ROWS_PER_REQUEST])
        response, _ = predict_csv(model_url, body, storage=storage)
        lines.append(capture_record(body, event_id=str(uuid.uuid4()), output=response.decode().strip()))
    bucket = config.bucket_name("models")
    # This hour's folder, as the endpoint would write now: the scheduled run reads the hours before its start.
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    folder = f"{config.data_capture_prefix}/{config.endpoint_name}/AllTraffic/{hour}"
    storage.client.put_object(Bucket=bucket, Key=f"{folder}/{uuid.uuid4()}.jsonl",
                              Body=("\n".join(lines) + "\n").encode())
    return f"s3://{bucket}/{config.data_capture_prefix}/"


def monitoring_run(run: Callable[..., object], storage: S3Storage, config: PlatformConfig, baseline_uri: str,
                   capture_uri: str, *, plot_to: Path | None, training: np.ndarray | None = None,
                   production: np.ndarray | None = None) -> DriftCheck:
    """The deployed monitoring pipeline, run locally by ``run(parameters, work_name)``: first the
    deployment's run that publishes the version's baseline, then the schedule's run on the capture."""
    from stacks.pipeline_definition import monitoring as mon

    run({mon.PUBLISH_BASELINE: baseline_uri}, "monitoring-publish")
    execution = run({mon.SCORED_DATA: capture_uri}, "monitoring")
    uri = f"{execution.step(mon.MONITOR).detail['outputs'][mon.REPORT_OUTPUT]['uri'].rstrip('/')}/drift.json"
    report = json.loads(storage.read(uri))
    plot = None
    if plot_to is not None and training is not None and production is not None:
        plot = plot_drift(report, training, production, plot_to)
    return DriftCheck(report=report, capture_uri=capture_uri, plot=plot)


def plot_drift(report: dict, training: np.ndarray, production: np.ndarray, path: Path) -> Path:
    """Left: each feature's PSI against the threshold; right: the most drifted feature, before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = report["features"]
    names = [f["name"] for f in features]
    psi = [f["psi"] for f in features]
    worst = int(np.argmax(psi))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [3, 2]})
    colours = ["tab:red" if f["drifted"] else "tab:blue" for f in features]
    left.barh(range(len(names)), psi, color=colours)
    left.set_yticks(range(len(names)), names, fontsize=7)
    left.invert_yaxis()
    left.axvline(report["thresholds"]["psi_threshold"], color="black", linestyle="--", linewidth=1)
    left.set_xlabel("population stability index (red: drifted, dashed: threshold)")
    left.set_title(f"drift per feature, {report['rows']} captured rows")
    bins = np.histogram_bin_edges(np.concatenate([training[:, worst], production[:, worst]]), bins=30)
    right.hist(training[:, worst], bins=bins, density=True, alpha=0.6, label="training split (baseline)")
    right.hist(production[:, worst], bins=bins, density=True, alpha=0.6, label="captured production traffic")
    right.set_title(f"{names[worst]}: PSI {psi[worst]:.2f}")
    right.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
