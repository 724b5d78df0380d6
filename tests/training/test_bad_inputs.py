"""Every bad input to every entry point ends in one clear line, and leaves nothing behind.

Each case runs the real script (train.py, preprocess.py, evaluate.py) the way a
user does, through the local runner's command line in a fresh process, with no
``--root``: the runner works in a temporary root under ``TMPDIR``, which points
at the test's own directory. THEN the exit code is 2 (a user error), the last
stderr line is the only ``FAILURE: <problem>; <fix>`` line, there is no
traceback, ``TMPDIR`` is empty again and nothing appeared under ``/opt/ml``.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

from training import local_runner

REPO_ROOT = Path(__file__).resolve().parents[2]
OPT_ML = Path("/opt/ml")


def _rows(n: int = 40, features: int = 2, seed: int = 0, labels=None) -> str:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] > 0).astype(int) if labels is None else labels
    return "".join(f"{label:g}," + ",".join(f"{v:.4f}" for v in row) + "\n" for label, row in zip(y, X, strict=True))


def _file(directory: Path, name: str, content: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return directory


def _parquet(directory: Path, columns: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), directory / "d.parquet")
    return directory


def _train(channels: dict[str, Path], *hps: str) -> list[str]:
    args = ["train.py", "--hp", "num_round=3"]
    for name, path in channels.items():
        args += ["--channel", f"{name}={path}"]
    for hp in hps:
        args += ["--hp", hp]
    return args


def _preprocess(raw: Path | None, *script_args: str) -> list[str]:
    args = ["preprocess.py", "--processing"]
    if raw is not None:
        args += ["--input", f"/opt/ml/processing/input={raw}"]
    return [*args, "--", *script_args] if script_args else args


def _evaluate(model: Path, test: Path | None) -> list[str]:
    args = ["evaluate.py", "--processing", "--input", f"/opt/ml/processing/model={model}"]
    if test is not None:
        args += ["--input", f"/opt/ml/processing/test={test}"]
    return args


def _truncated_gzip(d: Path) -> Path:
    full = gzip.compress(_rows(400).encode(), mtime=0)
    return _file(d / "t", "t.csv.gz", full[: len(full) // 2])


def _recordio(rows: int = 40) -> bytes:
    import io

    from smxgb import recordio

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 2)).astype(np.float32)
    buffer = io.BytesIO()
    recordio.write_dense(buffer, X, (X[:, 0] > 0).astype(np.float32))
    return buffer.getvalue()


BINARY = "objective=binary:logistic"
# id -> (command-line arguments built in a data directory, the FAILURE line it must end with)
CASES: dict[str, tuple[Callable[[Path, Path], list[str]], str]] = {
    # ---- train.py: labels outside the objective's domain (XGBoost would fail in C++ naming nothing)
    "train: label 2 with binary:logistic": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows() + "2,0.5,0.1\n")}, BINARY),
        r"t\.csv row 41 has label 2 but objective=binary:logistic needs labels 0 or 1 \(1 such rows in channel "
        r"'train'\); map the two classes to 0 and 1"),
    "train: label 2 with binary:logistic, streamed (external memory)": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows() + "2,0.5,0.1\n")}, BINARY, "data_mode=external"),
        r"t\.csv row 41 has label 2 but objective=binary:logistic needs labels 0 or 1"),
    "train: validation label -1 with binary:logistic": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows()),
                             "validation": _file(d / "v", "v.csv", _rows(seed=1) + "-1,0,0\n")}, BINARY),
        r"v\.csv row 41 has label -1 but .*in channel 'validation'"),
    "train: class 3 with multi:softprob num_class=3": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows() + "3,0,0\n")}, "objective=multi:softprob",
                            "num_class=3"),
        r"row 41 has label 3 but objective=multi:softprob needs class indices 0\.\.2.*raise num_class"),
    "train: label 0 with reg:gamma": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(labels=np.arange(40) % 3))}, "objective=reg:gamma"),
        r"row 1 has label 0 but objective=reg:gamma needs labels greater than 0 \(14 such rows"),
    "train: negative count with count:poisson": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows() + "-1,0,0\n")}, "objective=count:poisson"),
        r"row 41 has label -1 but objective=count:poisson needs labels >= 0"),
    "train: survival:aft (needs label bounds)": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows())}, "objective=survival:aft"),
        r"objective=survival:aft needs lower and upper label bounds.*use survival:cox"),
    # ---- train.py: values
    "train: NaN label": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(5) + "nan,1,2\n")}, BINARY),
        r"t\.csv row 6 has a missing or NaN label \(1 such rows in channel 'train'\); drop or fill"),
    "train: infinite label": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(5) + "inf,1,2\n")}),
        r"t\.csv row 6 has an infinite label \(inf\)"),
    "train: 400-digit feature": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(5) + "1," + "9" * 400 + ",2\n")}),
        r"t\.csv row 6 column 2 has an infinite or too large value \(inf\); replace it"),
    "train: CSV named .recordio": (
        lambda d, m: _train({"train": _file(d / "t", "t.recordio", _rows(5))}),
        r"t\.recordio record 1 is not RecordIO-protobuf \(bytes 0x.* not the RecordIO magic 0xced7230a\); write it"
        r" with SageMaker's RecordIO-protobuf writer"),
    "train: truncated RecordIO, streamed (external memory)": (
        lambda d, m: _train({"train": _file(d / "t", "t.recordio", _recordio()[:-30])}, "data_mode=external"),
        r"t\.recordio record 40 is not RecordIO-protobuf \(the file ends inside a record"),
    "train: non-numeric feature": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(5) + "1,red,2\n")}),
        r"t\.csv row 6 column 2 has non-numeric value 'red'; encode categories as numbers"),
    # ---- train.py: shape and layout
    "train: empty file": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", "")}),
        r"t\.csv in channel 'train' is empty; remove it or upload the data"),
    "train: header-only CSV": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", "label,a,b\n")}),
        r"t\.csv has no rows; remove it or upload the data"),
    "train: mixed column counts": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows(5) + "1,0.5\n")}),
        r"t\.csv row 6 has 2 columns but row 1 has 3; every row needs the label plus the same features"),
    "train: CSV header without a label column": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", "target,a,b\n" + _rows())}),
        r"t\.csv has a header row \('target', 'a', 'b'\) but no 'label' column; name the label column 'label'"),
    "train: Parquet without a label column": (
        lambda d, m: _train({"train": _parquet(d / "t", {"target": [0.0, 1.0], "a": [1.0, 2.0]})}),
        r"d\.parquet has no 'label' column \(columns: 'target', 'a'\); name the label column 'label'"),
    "train: not UTF-8 (random bytes)": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", bytes(range(256)) * 4)}),
        r"t\.csv is not UTF-8 text .*; use UTF-8 comma-separated numbers"),
    "train: .gz that is not gzip": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv.gz", _rows())}),
        r"t\.csv\.gz is named \.gz but is not a complete gzip file \(no gzip header\); upload it again"),
    "train: truncated gzip": (
        lambda d, m: _train({"train": _truncated_gzip(d)}),
        r"t\.csv\.gz is named \.gz but is not a complete gzip file"),
    "train: truncated gzip, streamed (external memory)": (
        lambda d, m: _train({"train": _truncated_gzip(d)}, "data_mode=external"),
        r"t\.csv\.gz is named \.gz but is not a complete gzip file"),
    "train: channel path that does not exist": (
        lambda d, m: _train({"train": d / "nowhere"}),
        r"channel 'train' path .*nowhere does not exist; point it at an existing file or directory"),
    "train: validation with other column names": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", "label,a,b\n" + _rows()),
                             "validation": _file(d / "v", "v.csv", "label,a,c\n" + _rows(seed=1))}),
        r"v\.csv in channel 'validation' has feature columns \('a', 'c'\) that differ from the training data "
        r"\('a', 'b'\): feature 2 is 'c', not 'b'"),
    "train: validation with other column names, streamed": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", "label,a,b\n" + _rows()),
                             "validation": _file(d / "v", "v.csv", "label,b,a\n" + _rows(seed=1))},
                            "data_mode=external"),
        r"v\.csv in channel 'validation' has feature columns \('b', 'a'\) that differ"),
    "train: validation with fewer columns": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows()),
                             "validation": _file(d / "v", "v.csv", _rows(features=1))}),
        r"v\.csv in channel 'validation' has 1 features but 2 were expected"),
    # ---- preprocess.py
    "preprocess: header-only CSV": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,b,label\n")),
        r"the input files \(r\.csv\) have a header but no data rows; upload the data rows"),
    "preprocess: every label empty": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,b,label\n1,2,\n3,4,\n")),
        r"every row of r\.csv has an empty label column 'label'; fill the labels"),
    "preprocess: every row has a missing feature": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,b,label\n,1,0\n2,,1\n")),
        r"no rows left after dropping rows with missing feature values \(--missing drop\)"),
    "preprocess: ragged rows": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,b,label\n1,2,0\n1,2,3,4\n")),
        r"cannot read r\.csv: .*Expected 3 fields in line 3, saw 4; save it as UTF-8 CSV"),
    "preprocess: infinite feature": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,b,label\n1,2,0\ninf,2,1\n")),
        r"feature column 'a' has an infinite or too large value \('inf' in row 2 of r\.csv\)"),
    "preprocess: no input mapped": (
        lambda d, m: _preprocess(None),
        r"input directory .*/processing/input does not exist; map the raw data ProcessingInput there"),
    "preprocess: bad argument": (
        lambda d, m: _preprocess(_file(d / "raw", "r.csv", "a,label\n1,0\n"), "--seed", "abc"),
        r"bad arguments: argument --seed: invalid int value: 'abc'; see the script's --help"),
    # ---- evaluate.py
    "evaluate: no test channel": (
        lambda d, m: _evaluate(m, None),
        r"test channel .*/processing/test does not exist; map the preprocess step's test output there"),
    "evaluate: model that does not load": (
        lambda d, m: _evaluate(_file(d / "model", "xgboost-model", b"garbage"), _file(d / "t", "t.csv", _rows())),
        r"does not hold a loadable XGBoost model .*; pass the training job's model artifact"),
    "evaluate: test labels outside 0/1": (
        lambda d, m: _evaluate(m, _file(d / "t", "t.csv", _rows() + "2,0,0\n")),
        r"test labels must be class indices 0\.\.1 for binary_classification, found 2"),
    "evaluate: test header without a label column": (
        lambda d, m: _evaluate(m, _file(d / "t", "t.csv", "y,a,b\n" + _rows())),
        r"t\.csv has a header row \('y', 'a', 'b'\) but no 'label' column"),
    "evaluate: .gz that is not gzip": (
        lambda d, m: _evaluate(m, _file(d / "t", "t.csv.gz", _rows())),
        r"t\.csv\.gz is named \.gz but is not a complete gzip file"),
    # ---- the runner's own command line
    "runner: --hp without =": (
        lambda d, m: ["train.py", "--hp", "num_round"],
        r"--hp expects NAME=VALUE, got 'num_round'; write it as --hp name=value"),
    "runner: unknown data mode": (
        lambda d, m: _train({"train": _file(d / "t", "t.csv", _rows())}, "data_mode=fast"),
        r"hyperparameter data_mode='fast' is invalid: must be one of auto, memory, external; set data_mode"),
    "runner: --hp with no name": (
        lambda d, m: ["train.py", "--hp", "=3"],
        r"--hp expects NAME=VALUE, got '=3'"),
    "runner: unknown entry point": (
        lambda d, m: ["trian.py"],
        r"entry point 'trian\.py' is not a file in the source dir .*; use one of .*train\.py"),
    "runner: unknown option": (
        lambda d, m: ["train.py", "--mode", "fast"],
        r"bad arguments: unrecognized arguments: --mode fast; see python -m training\.local_runner --help"),
    "runner: training flag in processing mode": (
        lambda d, m: ["preprocess.py", "--processing", "--hp", "a=1"],
        r"--hp is for training jobs, not --processing"),
    "runner: processing input in training mode": (
        lambda d, m: ["train.py", "--input", f"raw={d}"],
        r"--input is for processing jobs; add --processing"),
    "runner: zero hosts": (
        lambda d, m: ["train.py", "--hosts", "0"],
        r"--hosts must be at least 1, got 0"),
}


def _snapshot(path: Path) -> set[str] | None:
    if not path.exists():
        return None
    return {str(p) for p in path.rglob("*")}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """GIVEN a binary model over two features, as a training job saves it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, (X[:, 0] > 0).astype(float)), 3)
    directory = tmp_path_factory.mktemp("model")
    booster.save_model(str(directory / "xgboost-model.json"))
    (directory / "xgboost-model.json").rename(directory / "xgboost-model")
    return directory


def _cli(args: list[str], tmpdir: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SMXGB_"))}
    env.update(TMPDIR=str(tmpdir), PYTHONPATH=str(REPO_ROOT), **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "training.local_runner", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_ends_in_one_failure_line_exit_2_and_nothing_left_behind(tmp_path, model, case):
    build, pattern = CASES[case]
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    opt_ml_before = _snapshot(OPT_ML)
    # GIVEN one bad input
    args = build(tmp_path / "data", model)
    # WHEN the entry point runs from the command line in a temporary root
    done = _cli(args, tmpdir)
    # THEN it is a user error
    assert done.returncode == 2, done.stderr[-3000:]
    # AND the last line is the one FAILURE line, naming the problem and the fix
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith("FAILURE: ")]
    assert failures == [lines[-1]], done.stderr[-3000:]
    assert re.search(pattern, lines[-1]), lines[-1]
    assert re.fullmatch(r"FAILURE: [^;]+.*; .+", lines[-1]), f"no '<problem>; <fix>': {lines[-1]}"
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    # AND the temporary root is gone, and nothing was written under /opt/ml
    assert list(tmpdir.iterdir()) == []
    assert _snapshot(OPT_ML) == opt_ml_before


def test_the_failure_reason_survives_the_temporary_root(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    # GIVEN a bad job run through the Python API without a root
    bad = _file(tmp_path / "t", "t.csv", _rows() + "2,0,0\n")
    result = local_runner.run_training("train.py", channels={"train": bad},
                                       hyperparameters={"num_round": 2, "objective": "binary:logistic"}, timeout=120)
    # THEN the reason is still there after the root was removed
    assert result.returncode == 2 and not result.kept
    assert re.search(r"t\.csv row 41 has label 2", result.failure)
    assert result.last_stderr_line == "FAILURE: " + result.failure
    assert list((tmp_path / "tmp").iterdir()) == []


def test_runner_refuses_a_missing_channel_before_running_anything(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.raises(local_runner.RunnerError, match=r"channel 'train' path .*missing does not exist"):
        local_runner.run_training("train.py", channels={"train": tmp_path / "missing"}, hyperparameters={})
    assert list((tmp_path / "tmp").iterdir()) == []
