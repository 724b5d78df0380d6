"""preprocess.py and evaluate.py run as processing-job subprocesses through the local runner."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from training import local_runner

PROCESSING = "/opt/ml/processing"


def test_preprocess_then_evaluate_as_processing_jobs(tmp_path):
    """GIVEN raw CSV with a header WHEN preprocess then evaluate run as processing jobs
    THEN channels, schema.json and an evaluation report with a gate-able AUC come out."""
    raw = tmp_path / "raw"
    raw.mkdir()
    load_breast_cancer(as_frame=True).frame.to_csv(raw / "cancer.csv", index=False)
    splits = [f"{PROCESSING}/{name}" for name in ("train", "validation", "test", "schema")]
    prep = local_runner.run_processing(
        "preprocess.py", root=tmp_path / "prep", inputs={f"{PROCESSING}/input": raw}, outputs=splits,
        # Explicit paths, as a pipeline step passes them; the runner maps /opt/ml/... under its root.
        args=["--label-column", "target", "--failure-dir", "/opt/ml/output", "--input-dir", f"{PROCESSING}/input",
              *[arg for path in splits for arg in (f"--{path.rsplit('/', 1)[1]}-dir", path)]],
    )
    assert prep.returncode == 0, prep.stderr
    schema = json.loads((prep.outputs[f"{PROCESSING}/schema"] / "schema.json").read_text())
    assert schema["rows"]["test"] == 94

    train = np.loadtxt(prep.outputs[f"{PROCESSING}/train"] / "train.csv", delimiter=",")
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(train[:, 1:], train[:, 0]), 10)
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    with tarfile.open(artifact / "model.tar.gz", "w:gz") as tar:
        tar.add(artifact / "xgboost-model", arcname="xgboost-model")
    (artifact / "xgboost-model").unlink()

    evaluation = local_runner.run_processing(
        "evaluate.py", root=tmp_path / "eval",
        inputs={f"{PROCESSING}/model": artifact, f"{PROCESSING}/test": prep.outputs[f"{PROCESSING}/test"]},
        outputs=[f"{PROCESSING}/evaluation"],
        args=["--failure-dir", "/opt/ml/output", "--model", f"{PROCESSING}/model", "--test-dir", f"{PROCESSING}/test",
              "--output-dir", f"{PROCESSING}/evaluation"],
    )
    assert evaluation.returncode == 0, evaluation.stderr
    report = json.loads((evaluation.outputs[f"{PROCESSING}/evaluation"] / "evaluation.json").read_text())
    assert 0.9 < report["binary_classification_metrics"]["auc"]["value"] <= 1.0


def test_failed_processing_job_leaves_exit_message(tmp_path):
    """GIVEN no model input WHEN evaluate runs as a processing job
    THEN it exits 2 and /opt/ml/output/message holds the one-line reason."""
    result = local_runner.run_processing(
        "evaluate.py", root=tmp_path, outputs=[f"{PROCESSING}/evaluation"], args=["--failure-dir", "/opt/ml/output"],
    )
    assert result.returncode == 2
    message = (Path(tmp_path) / "output" / "message").read_text()
    assert "model" in message and "does not exist; map the training step's model artifact there" in message
    assert result.stderr.strip().splitlines()[-1] == "FAILURE: " + message.strip()
