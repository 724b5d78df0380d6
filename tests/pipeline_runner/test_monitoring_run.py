"""The monitoring pipeline run locally: publish a version's baseline, then monitor batch-scored rows
against it, with quality from uploaded labels joined by row id."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from stacks.pipeline_definition import monitoring as mon
from tests.pipeline_runner.conftest import CONFIG, resources
from tools.pipeline_runner import RunOptions, run_definition

MODELS = CONFIG.bucket_name("models")
REGISTERED_BASELINE = f"s3://{CONFIG.bucket_name('processed')}/channels/exec1/schema/drift-baseline.json"
SCORED = f"s3://{MODELS}/batch-scoring/exec7/part.csv.out"


@pytest.fixture
def definition() -> dict:
    return json.loads(json.dumps(mon.build_monitoring_definition(
        resources(), CONFIG.monitoring, endpoint_name=CONFIG.endpoint_name, scored_data_uri=CONFIG.scored_data_uri)))


def _put(store, uri: str, data: bytes, scratch) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / uri.rsplit("/", 1)[-1]
    path.write_bytes(data)
    store.upload_file(path, uri)


def _smxgb():
    from tests.training.conftest import TRAINING_DIR

    if str(TRAINING_DIR) not in sys.path:
        sys.path.insert(0, str(TRAINING_DIR))
    from smxgb import drift

    return drift


def _scored(features: np.ndarray, labels: np.ndarray, rng) -> tuple[str, str]:
    """Batch-scoring lines and ground truth: predictions that rank the labels well."""
    predictions = np.clip(0.75 * labels + rng.normal(0.1, 0.15, labels.size), 0, 1)
    ids = [f"row-{i}" for i in range(len(labels))]
    lines = [",".join([i, *(f"{v:.6g}" for v in row), f"{p:.4f}"]) for i, row, p in zip(ids, features, predictions,
                                                                                         strict=True)]
    truth = ["row_id,label", *(f"{i},{int(y)}" for i, y in zip(ids, labels, strict=True))]
    return "\n".join(lines) + "\n", "\n".join(truth) + "\n"


def test_publish_then_monitor_reports_drift_and_quality(definition, store, tmp_path) -> None:
    # GIVEN a registered baseline, batch-scored rows with two shifted features, and labels for half of them
    features, labels = load_breast_cancer(return_X_y=True)
    drift = _smxgb()
    names = [f"f{i}" for i in range(features.shape[1])]
    _put(store, REGISTERED_BASELINE, drift.build_baseline(features, names).to_json().encode(), tmp_path / "upload")
    shifted = features.copy()
    shifted[:, :2] += 1.0 * features[:, :2].std(axis=0)
    lines, truth = _scored(shifted, labels, np.random.default_rng(3))
    _put(store, SCORED, lines.encode(), tmp_path / "upload")
    _put(store, f"s3://{MODELS}/monitoring/{CONFIG.endpoint_name}/ground-truth/day1.csv",
                "\n".join(truth.splitlines()[:300]).encode(), tmp_path / "upload")
    # WHEN a deployment publishes the version's baseline, and the schedule's run follows
    published = run_definition(definition, storage=store, work_dir=tmp_path / "publish", log=lambda _: None,
                               options=RunOptions(parameters={mon.PUBLISH_BASELINE: REGISTERED_BASELINE},
                                                  execution_id="publish01"))
    run = run_definition(definition, storage=store, work_dir=tmp_path / "monitor", log=lambda _: None,
                         options=RunOptions(execution_id="monitor01"))
    # THEN the publish run took the other branch, and the report names the drifted features and the quality
    assert {s.name: s.status for s in published.steps}[mon.PUBLISH] == "Succeeded"
    assert {s.name: s.status for s in run.steps}[mon.MONITOR] == "Succeeded"
    report = json.loads(store.read(
        f"s3://{MODELS}/monitoring-reports/{CONFIG.endpoint_name}/monitor01/drift.json"))
    assert report["drifted_features"] == ["f0", "f1"]
    assert report["rows"] == len(labels)
    assert report["quality"]["labelled_rows"] == 299
    assert report["quality"]["metrics"]["auc"] > 0.9
    tail = "\n".join(run.step(mon.MONITOR).detail["stdout_tail"])
    assert "quality on 299 labelled rows" in tail


def test_a_scheduled_run_before_any_publish_names_the_missing_baseline(definition, store, tmp_path) -> None:
    _put(store, SCORED, b"row-1,1,2,0.5\n", tmp_path / "upload")
    truth = f"s3://{MODELS}/monitoring/{CONFIG.endpoint_name}/ground-truth/x.csv"
    _put(store, truth, b"row-1,1\n", tmp_path / "upload")
    with pytest.raises(Exception, match=r"no drift baseline at .*; pass the model version's drift-baseline.json"):
        run_definition(definition, storage=store, work_dir=tmp_path / "m", log=lambda _: None,
                       options=RunOptions(execution_id="monitor02"))
