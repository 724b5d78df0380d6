"""training/monitor.py: the monitoring processing job, on captured traffic and a training-time baseline."""

from __future__ import annotations

import json
import re

import monitor
import numpy as np
import pytest

from smxgb import capture, drift


def _write_capture(folder, matrix, prefix="req"):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [capture.capture_record(",".join(f"{v:.6g}" for v in row), event_id=f"{prefix}-{i}")
             for i, row in enumerate(matrix)]
    (folder / "traffic.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def job(tmp_path):
    rng = np.random.default_rng(11)
    baseline = drift.build_baseline(rng.normal(0, 1, (5_000, 3)), ["age", "dose", "score"])
    baseline.write(tmp_path / "baseline" / monitor.BASELINE_NAME)
    return tmp_path, rng


def _args(tmp_path, *extra):
    return ["--baseline", str(tmp_path / "baseline"), "--capture-dir", str(tmp_path / "capture"),
            "--output-dir", str(tmp_path / "out"), "--failure-dir", str(tmp_path / "failure"), *extra]


def test_shifted_traffic_is_reported_by_feature_and_logged_as_metric_lines(job, capsys):
    # GIVEN captured traffic whose "dose" moved by one standard deviation
    tmp_path, rng = job
    traffic = rng.normal(0, 1, (2_000, 3))
    traffic[:, 1] += 1.0
    _write_capture(tmp_path / "capture" / "2026" / "12", traffic)
    # WHEN the job runs
    monitor.main(_args(tmp_path))
    # THEN the report names the feature and every figure is a metric-filter line
    report = json.loads((tmp_path / "out" / monitor.DRIFT_REPORT_NAME).read_text())
    assert report["drifted_features"] == ["dose"]
    assert report["rows"] == 2_000 and report["requests"] == 2_000
    metric_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if monitor.METRIC_LOG_KEY in line]
    assert {m[monitor.METRIC_LOG_KEY]: m["value"] for m in metric_lines}["drifted_features"] == 1


def test_unchanged_traffic_drifts_nowhere(job):
    tmp_path, rng = job
    _write_capture(tmp_path / "capture", rng.normal(0, 1, (2_000, 3)))
    monitor.main(_args(tmp_path))
    assert json.loads((tmp_path / "out" / monitor.DRIFT_REPORT_NAME).read_text())["drifted_features"] == []


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("no-baseline", [], r"^FAILURE: no drift baseline at .*; pass the model version's drift-baseline.json"),
        ("no-capture", [], r"^FAILURE: capture folder .* does not exist; pass the endpoint's capture prefix"),
        ("bad-line", [], r"^FAILURE: .*traffic.jsonl:1: not a SageMaker data-capture record.*; remove or fix"),
        ("wide", [], r"^FAILURE: production rows have 4 features but the baseline has 3"),
        ("ok", ["--ks-alpha", "2"], r"^FAILURE: ks_alpha must be in \(0, 1\), got 2.0; fix the monitoring"),
    ],
)
def test_bad_input_ends_in_one_failure_line_and_exit_2(job, capsys, setup, extra, message):
    tmp_path, rng = job
    if setup == "no-baseline":
        (tmp_path / "baseline" / monitor.BASELINE_NAME).unlink()
    if setup != "no-capture":
        _write_capture(tmp_path / "capture", rng.normal(0, 1, (10, 4 if setup == "wide" else 3)))
    if setup == "bad-line":
        (tmp_path / "capture" / "traffic.jsonl").write_text("{oops\n")
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(_args(tmp_path, *extra))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in err
    assert re.search(message, err.strip().splitlines()[-1])
    assert not (tmp_path / "out").exists()


def test_quality_joins_labels_by_inference_id_and_reads_only_the_window(job, capsys):
    # GIVEN capture in two hour folders, the responses' scores, and labels for the rows of the later hour
    tmp_path, rng = job
    labels = rng.integers(0, 2, 400)
    for hour, rows in (("05", range(0, 200)), ("09", range(200, 400))):
        folder = tmp_path / "capture" / "2026" / "12" / "02" / hour
        folder.mkdir(parents=True)
        lines = [capture.capture_record(",".join(f"{v:.4g}" for v in rng.normal(0, 1, 3)), event_id=f"e{i}",
                                        inference_id=f"inf-{i}", output=f"{0.8 * labels[i] + 0.1:.2f}")
                 for i in rows]
        (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "labels.csv").write_text("row_id,label\n" + "".join(f"inf-{i},{labels[i]}\n" for i in range(400)))
    # WHEN the run covers the 3 hours before 10:30 (09:00 is in, 05:00 is not)
    monitor.main(_args(tmp_path, "--ground-truth-dir", str(truth), "--window-end", "2026-12-02T10:30:00Z",
                       "--window-hours", "3", "--min-rows", "10"))
    # THEN only the window's rows count, and their quality comes from the joined labels
    report = json.loads((tmp_path / "out" / monitor.DRIFT_REPORT_NAME).read_text())
    assert report["rows"] == 200
    assert report["quality"]["labelled_rows"] == 200
    assert report["quality"]["metrics"]["auc"] == 1.0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {m[monitor.METRIC_LOG_KEY]: m["value"] for m in lines}["quality_auc"] == 1.0


def test_publish_checks_and_copies_the_baseline(job):
    tmp_path, _ = job
    monitor.main(["--publish-baseline", str(tmp_path / "baseline" / monitor.BASELINE_NAME), "--output-dir",
                  str(tmp_path / "published"), "--failure-dir", str(tmp_path / "failure")])
    assert drift.Baseline.read(tmp_path / "published" / monitor.BASELINE_NAME).features[1].name == "dose"


def test_bad_ground_truth_ends_in_one_line(job, capsys):
    tmp_path, rng = job
    _write_capture(tmp_path / "capture", rng.normal(0, 1, (10, 3)))
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "x.csv").write_text("req-1,1\nreq-2,yes\n")
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(_args(tmp_path, "--ground-truth-dir", str(tmp_path / "truth")))
    assert exit_info.value.code == 2
    assert re.search(r"^FAILURE: .*x.csv: label 'yes' is not a number", capsys.readouterr().err.splitlines()[-1])
