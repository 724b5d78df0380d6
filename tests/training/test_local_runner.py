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


# ---------------------------------------------------------------- temporary roots, --keep, the documented commands

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], cwd: Path, tmpdir: Path, **extra_env: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SMXGB_"))}
    env.update(TMPDIR=str(tmpdir), PYTHONPATH=str(REPO_ROOT), **extra_env)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _documented_commands() -> list[list[str]]:
    """The CLI commands in the runner's docstring, continuation lines joined, as argument lists."""
    import shlex

    import training.local_runner as runner

    block = runner.__doc__.split("CLI", 1)[1].split("::", 1)[1]
    text = block.replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in text.splitlines() if line.strip().startswith("python ")]


@pytest.fixture
def workdir(tmp_path, breast_cancer, write_csv) -> Path:
    """GIVEN data/train/ (label-first CSV) and data/raw/ (CSV with a header) in a working directory."""
    (X, y), _ = breast_cancer
    write_csv(tmp_path / "data" / "train" / "train.csv", X, y)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    header = ",".join(f"f{i}" for i in range(5)) + ",label\n"
    rows = "".join(",".join(f"{v:.5g}" for v in row[:5]) + f",{int(label)}\n" for row, label in zip(X, y, strict=True))
    (raw / "raw.csv").write_text(header + rows)
    (tmp_path / "tmp").mkdir()
    return tmp_path


def test_the_documented_commands_work_and_keep_their_root_where_they_say(workdir):
    commands = _documented_commands()
    assert len(commands) == 2, commands
    for command in commands:
        # WHEN each documented command runs from a directory holding data/ (python = this interpreter)
        done = _cli([sys.executable, *command[1:]], cwd=workdir, tmpdir=workdir / "tmp")
        # THEN it succeeds
        assert done.returncode == 0, done.stderr[-3000:]
        # AND --keep kept the root, which it named, under TMPDIR
        kept = [line for line in done.stderr.splitlines() if line.startswith("local_runner: root ")]
        assert kept and "(kept afterwards)" in kept[0], done.stderr[-2000:]
        root = Path(kept[0].split()[2])
        assert root.parent == workdir / "tmp" and root.is_dir()
    roots = sorted((workdir / "tmp").iterdir())
    trained = next(r for r in roots if (r / "model").is_dir())
    assert (trained / "model" / "xgboost-model").is_file()
    # AND preprocessing's default output paths landed inside its root, not under /opt/ml
    processed = next(r for r in roots if (r / "processing").is_dir())
    for split in ("train", "validation", "test"):
        assert (processed / "processing" / split / f"{split}.csv").is_file()
    assert (processed / "processing" / "schema" / "schema.json").is_file()


@pytest.mark.parametrize("how", ["--keep", "SMXGB_KEEP_ROOT=1", "neither"])
def test_a_temporary_root_is_removed_unless_asked_to_keep_it(workdir, how):
    args = [sys.executable, "-m", "training.local_runner", "train.py", "--channel", "train=data/train/",
            "--hp", "num_round=2"]
    env = {}
    if how == "--keep":
        args.append("--keep")
    elif how.startswith("SMXGB_KEEP_ROOT"):
        env["SMXGB_KEEP_ROOT"] = "1"
    # WHEN a successful run ends
    done = _cli(args, cwd=workdir, tmpdir=workdir / "tmp", **env)
    assert done.returncode == 0, done.stderr[-3000:]
    left = list((workdir / "tmp").iterdir())
    # THEN its temporary root is gone, unless it was asked to stay (and the runner said where)
    if how == "neither":
        assert left == []
        assert "temporary: removed afterwards" in done.stderr
    else:
        assert len(left) == 1 and f"local_runner: root {left[0]} (kept afterwards)" in done.stderr


@pytest.mark.parametrize("data_mode", ["memory", "external"])
def test_a_successful_run_through_the_python_api_leaves_nothing_behind(workdir, monkeypatch, data_mode):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(workdir / "tmp"))
    monkeypatch.setenv("TMPDIR", str(workdir / "tmp"))  # the script's own temporary files (external cache)
    result = run_training("train.py", channels={"train": workdir / "data" / "train"},
                          hyperparameters={"num_round": 2, "data_mode": data_mode}, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not result.kept and list((workdir / "tmp").iterdir()) == []
    assert "WARNING" not in result.stderr  # e.g. XGBoost missing its external-memory cache


def test_processing_defaults_resolve_under_the_root_not_opt_ml(workdir):
    # GIVEN preprocess.py run with no path arguments at all: only its input mapped where it reads by default
    result = run_processing("preprocess.py", inputs={"/opt/ml/processing/input": workdir / "data" / "raw"},
                            root=workdir / "proc", args=["--seed", "abc"])
    # THEN its failure file is under the root's output/ (its default --failure-dir), and result.failure reads it
    assert result.returncode == 2
    assert result.output_dir == workdir / "proc" / "output"
    assert result.failure.startswith("bad arguments: argument --seed")
    assert (workdir / "proc" / "output" / "message").is_file()
    assert not Path("/opt/ml/output/failure").exists()


def _readme_commands() -> list[list[str]]:
    """The local-runner commands of the README's training section, continuation lines joined."""
    import shlex

    section = (REPO_ROOT / "README.md").read_text().split("## The training code", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [shlex.split(line) for line in block.splitlines() if "training.local_runner" in line]


def test_the_readmes_commands_work_from_the_repository_root_with_a_relative_root(workdir):
    # GIVEN the README's preprocess-then-train commands, run from a folder holding data/raw/
    commands = _readme_commands()
    assert [c[3] for c in commands] == ["preprocess.py", "train.py"], commands
    for command in commands:
        done = _cli([sys.executable, *command[1:]], cwd=workdir, tmpdir=workdir / "tmp")
        # THEN each succeeds: the relative --root names the folder under the working directory
        assert done.returncode == 0, done.stderr[-3000:]
    assert (workdir / "runs" / "prep" / "processing" / "train" / "train.csv").is_file()
    kept = [r for r in (workdir / "tmp").iterdir() if (r / "model" / "xgboost-model").is_file()]
    assert len(kept) == 1  # --keep on the training command
