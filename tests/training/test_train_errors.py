"""Every bad input a user can cause ends the same way as in the container.

Non-zero exit, ``output/failure`` naming the problem, and the same reason as
the last stderr line (the toolkit overwrites the failure file with a generic
message, so the log line is what the user actually sees).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from training.local_runner import run_training

GOOD = {"num_round": "5", "objective": "binary:logistic"}


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path.parent


def _good_rows(n=20, features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] > 0).astype(int)
    return "".join(f"{label}," + ",".join(f"{v:.4f}" for v in row) + "\n" for label, row in zip(y, X, strict=True))


CASES = {
    "missing train channel": (lambda d: {}, GOOD, r"the 'train' channel is missing"),
    "empty channel": (
        lambda d: {"train": (d / "t").mkdir(parents=True) or d / "t"}, GOOD, r"channel 'train' .* has no data files"
    ),
    "empty file": (
        lambda d: {"train": _write(d / "t" / "empty.csv", "")}, GOOD, r"empty.csv in channel 'train' is empty"
    ),
    "ragged rows": (
        lambda d: {"train": _write(d / "t" / "r.csv", _good_rows() + "1,0.5\n")},
        GOOD,
        r"r.csv row 21 has 2 columns but row 1 has 4",
    ),
    "non-numeric value": (
        lambda d: {"train": _write(d / "t" / "n.csv", _good_rows(5) + "1,0.5,red,0.1\n")},
        GOOD,
        r"n.csv row 6 column 3 has non-numeric value 'red'",
    ),
    "NaN label": (
        lambda d: {"train": _write(d / "t" / "l.csv", _good_rows(5) + ",0.5,0.2,0.1\n" + _good_rows(3))},
        GOOD,
        r"l.csv row 6 has a missing or NaN label",
    ),
    "validation width mismatch": (
        lambda d: {"train": _write(d / "t" / "a.csv", _good_rows()),
                   "validation": _write(d / "v" / "b.csv", _good_rows(features=2))},
        GOOD,
        r"b.csv in channel 'validation' has 2 features but 3 were expected",
    ),
    "unknown hyperparameter": (
        lambda d: {"train": _write(d / "t" / "a.csv", _good_rows())},
        {**GOOD, "max_dept": "4"},
        r"unknown hyperparameter 'max_dept': did you mean 'max_depth'",
    ),
    "out-of-range value": (
        lambda d: {"train": _write(d / "t" / "a.csv", _good_rows())},
        {**GOOD, "eta": "3"},
        r"eta='3' is invalid: must be a number in \[0, 1\]",
    ),
    "gpu_hist": (
        lambda d: {"train": _write(d / "t" / "a.csv", _good_rows())},
        {**GOOD, "tree_method": "gpu_hist"},
        r"tree_method='gpu_hist' is invalid.*device=cuda",
    ),
    "early stopping without validation": (
        lambda d: {"train": _write(d / "t" / "a.csv", _good_rows())},
        {**GOOD, "early_stopping_rounds": "3"},
        r"early_stopping_rounds needs a validation channel",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_with_reason_in_failure_file_and_last_log_line(tmp_path, case):
    make_channels, hps, pattern = CASES[case]
    # GIVEN a job with one thing wrong
    channels = make_channels(tmp_path / "data")
    # WHEN it runs as in the container
    result = run_training("train.py", channels=channels, hyperparameters=hps, root=tmp_path / "ml", timeout=120)
    # THEN it exits non-zero without a model
    assert result.returncode not in (0, None)
    assert not (result.model_dir / "xgboost-model").exists()
    # AND the failure file names the problem
    assert result.failure is not None
    assert re.search(pattern, result.failure), result.failure
    # AND the same reason is the last log line, with no traceback for a user error
    assert result.last_stderr_line == "FAILURE: " + result.failure
    assert "Traceback" not in result.stderr
