"""Managed spot: a training process killed mid-way resumes from its last checkpoint."""

from __future__ import annotations

import re
import signal
import time

import numpy as np
import pytest
import xgboost as xgb

from training.local_runner import prepare_training

NUM_ROUND = 100
FREQUENCY = 5


@pytest.fixture
def digits_channel(tmp_path, write_csv):
    from sklearn.datasets import load_digits

    # Ten classes build ten trees a round: slow enough to kill between checkpoints.
    X, y = load_digits(return_X_y=True)
    return write_csv(tmp_path / "digits" / "train.csv", X.astype(np.float32), y.astype(np.float32)), X


def _hps(**extra):
    return {"num_round": NUM_ROUND, "objective": "multi:softprob", "num_class": 10, "max_depth": 4,
            "checkpoint_frequency": FREQUENCY, "nthread": 1, **extra}


def _load(path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    return booster


@pytest.mark.slow
def test_killed_job_resumes_from_latest_checkpoint_and_finishes_num_round(tmp_path, digits_channel):
    channel, X = digits_channel
    root = tmp_path / "ml"
    # GIVEN a spot job with a checkpoint config, started as the container would
    job = prepare_training("train.py", channels={"train": channel}, hyperparameters=_hps(), root=root, checkpoint=True)
    process = job.start()
    # WHEN the instance is reclaimed (SIGKILL: no chance to clean up) after a few checkpoints
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(job.result.checkpoint_dir.glob("*.ubj"))) < 2:
        assert process.poll() is None, "training finished before it could be interrupted"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    killed_stdout, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not (job.result.model_dir / "xgboost-model").exists()
    printed = [int(r) for r in re.findall(r"^\[(\d+)\]#train-mlogloss:", killed_stdout, flags=re.M)]
    saved = sorted(job.result.checkpoint_dir.glob("*.ubj"))
    saved_rounds = _load(saved[-1]).num_boosted_rounds()
    assert 0 < saved_rounds < NUM_ROUND
    # AND only complete checkpoints remain (temporary files are hidden and never loaded)
    assert all(p.name.startswith("xgboost-checkpoint.") for p in saved)

    # WHEN SageMaker restarts the job with the checkpoints restored
    restarted = prepare_training(
        "train.py", channels={"train": channel}, hyperparameters=_hps(), root=root, checkpoint=True
    ).run(timeout=120)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    # THEN it says it resumed, from a checkpoint losing at most FREQUENCY rounds
    resumed = re.search(r"resume: continuing from checkpoint \S+ at round (\d+) of 100", restarted.stdout)
    assert resumed, restarted.stdout[:2000]
    start = int(resumed.group(1))
    assert start == saved_rounds and start >= max(printed, default=0) + 1 - FREQUENCY
    # AND trains only the remaining rounds, ending with exactly num_round
    rerun = [int(r) for r in re.findall(r"^\[(\d+)\]#train-mlogloss:", restarted.stdout, flags=re.M)]
    assert rerun == list(range(start, NUM_ROUND))
    final = _load(restarted.model_dir / "xgboost-model")
    assert final.num_boosted_rounds() == NUM_ROUND
    # AND the model matches an uninterrupted run (deterministic hist training)
    uninterrupted = prepare_training(
        "train.py", channels={"train": channel}, hyperparameters=_hps(), root=tmp_path / "fresh"
    ).run(timeout=120)
    assert uninterrupted.returncode == 0
    reference = _load(uninterrupted.model_dir / "xgboost-model")
    np.testing.assert_allclose(final.predict(xgb.DMatrix(X)), reference.predict(xgb.DMatrix(X)), atol=1e-5)


@pytest.mark.slow
def test_checkpoints_are_only_written_with_a_checkpoint_config(tmp_path, digits_channel):
    channel, _ = digits_channel
    result = prepare_training(
        "train.py", channels={"train": channel}, hyperparameters=_hps(num_round=10), root=tmp_path / "ml"
    ).run(timeout=120)
    assert result.returncode == 0
    assert not (tmp_path / "ml" / "checkpoints").exists() and "checkpoint:" not in result.stdout
