"""The local runner gives a script the same file system, environment and arguments as the container."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.local_runner import run_processing, run_training

PROBE = """
import json, os, sys
from pathlib import Path
record = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")},
    "sys_path0": sys.path[0],
}
out = Path(os.environ.get("SM_OUTPUT_DATA_DIR") or sys.argv[-1])
out.mkdir(parents=True, exist_ok=True)
(out / "probe.json").write_text(json.dumps(record))
"""


@pytest.fixture
def probe_source(tmp_path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "probe.py").write_text(PROBE)
    return source


def test_training_layout_env_and_arguments_match_the_toolkit(tmp_path, probe_source):
    data = tmp_path / "train.csv"
    data.write_text("1,2\n")
    # GIVEN a script run as a two-host training job's second host with a checkpoint config
    result = run_training(
        "probe.py", source_dir=probe_source, channels={"train": data}, root=tmp_path / "ml",
        hyperparameters={"num_round": 10, "eta": 0.3, "sagemaker_program": "probe.py"},
        hosts=["algo-1", "algo-2"], current_host="algo-2", checkpoint=True, num_cpus=3,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((result.output_data_dir / "probe.json").read_text())
    env, root = record["env"], tmp_path / "ml"
    # THEN hyperparameters arrive as '--name value' strings, without the toolkit's own
    assert record["argv"] == ["--num_round", "10", "--eta", "0.3"]
    assert json.loads(env["SM_USER_ARGS"]) == record["argv"]
    assert json.loads(env["SM_HPS"]) == {"num_round": 10, "eta": 0.3, "sagemaker_program": "probe.py"}
    # AND the script runs from a copy of the source dir, which is first on sys.path
    assert record["cwd"] == str(root / "code") == record["sys_path0"]
    # AND the /opt/ml layout and variables are in place
    assert env["SM_MODEL_DIR"] == str(root / "model") and (root / "model").is_dir()
    assert env["SM_CHANNEL_TRAIN"] == str(root / "input" / "data" / "train")
    assert (root / "input" / "data" / "train" / "train.csv").read_text() == "1,2\n"
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"] and env["SM_CURRENT_HOST"] == "algo-2"
    assert env["SM_NUM_CPUS"] == "3" and env["SM_NUM_GPUS"] == "0"
    config = root / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text())["num_round"] == "10"
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-2"
    assert json.loads((config / "inputdataconfig.json").read_text())["train"]["TrainingInputMode"] == "File"
    assert json.loads(Path(env["SM_CHECKPOINT_CONFIG_FILE"]).read_text())["LocalPath"] == str(root / "checkpoints")
    assert env["SM_OUTPUT_DIR"] == str(root / "output") and env["SM_INPUT_DIR"] == str(root / "input")


def test_processing_maps_container_paths_in_arguments(tmp_path, probe_source):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n")
    # GIVEN a processing script whose arguments name container paths
    result = run_processing(
        "probe.py", source_dir=probe_source, root=tmp_path / "proc", inputs={"raw": raw}, outputs=["report"],
        args=["--input", "/opt/ml/processing/input/raw", "/opt/ml/processing/output/report"],
    )
    assert result.returncode == 0, result.stderr
    # THEN the paths point into the emulated root, inputs present and outputs created
    report_dir = tmp_path / "proc" / "processing" / "output" / "report"
    record = json.loads((report_dir / "probe.json").read_text())
    assert record["argv"] == ["--input", str(tmp_path / "proc" / "processing" / "input" / "raw"), str(report_dir)]
    assert (result.inputs["raw"] / "a.csv").read_text() == "x\n"
    assert result.outputs == {"report": report_dir}
    assert record["env"] == {}  # processing jobs get no SM_* variables


def test_cli_runs_training_and_reports_exit_code(tmp_path, breast_cancer, write_csv):
    (X, y), _ = breast_cancer
    channel = write_csv(tmp_path / "train.csv", X, y)
    done = subprocess.run(
        [sys.executable, "-m", "training.local_runner", "train.py", "--channel", f"train={channel}",
         "--hp", "num_round=3", "--hp", "objective=binary:logistic", "--root", str(tmp_path / "ml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ml" / "model" / "xgboost-model").is_file()
    assert "[2]#train-logloss:" in done.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "training.local_runner", "train.py", "--hp", "num_round=3",
         "--root", str(tmp_path / "bad")], capture_output=True, text=True, timeout=120, check=False,
    )
    assert failed.returncode == 2 and "FAILURE: the 'train' channel is missing" in failed.stderr
