"""Two hosts train one model on their own shards, as ShardedByS3Key lays them out."""

from __future__ import annotations

import re

import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from training.local_runner import free_port, run_cluster, run_training

HPS = {"num_round": 40, "objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3, "eta": 0.2,
       "nthread": 1, "tracker_timeout": 60}


def _auc(result, X, y) -> float:
    booster = xgb.Booster()
    booster.load_model(bytearray((result.model_dir / "xgboost-model").read_bytes()))
    return roc_auc_score(y, booster.predict(xgb.DMatrix(X)))


@pytest.mark.slow
def test_two_hosts_train_one_model_as_good_as_one_host(tmp_path, breast_cancer, write_csv):
    (X_train, y_train), (X_val, y_val) = breast_cancer
    half, vhalf = len(y_train) // 2, len(y_val) // 2
    # GIVEN each host's channels hold a different half of the data
    shards = {
        "algo-1": {
            "train": write_csv(tmp_path / "a1" / "train" / "part-0.csv", X_train[:half], y_train[:half]).parent,
            "validation": write_csv(tmp_path / "a1" / "val" / "part-0.csv", X_val[:vhalf], y_val[:vhalf]).parent,
        },
        "algo-2": {
            "train": write_csv(tmp_path / "a2" / "train" / "part-1.csv", X_train[half:], y_train[half:]).parent,
            "validation": write_csv(tmp_path / "a2" / "val" / "part-1.csv", X_val[vhalf:], y_val[vhalf:]).parent,
        },
    }
    # WHEN both hosts run together, with a free tracker port
    results = run_cluster("train.py", host_channels=shards, hyperparameters=HPS, root=tmp_path / "cluster",
                          timeout=180)
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
    leader, worker = results
    # THEN they formed one collective of two ranks
    assert re.search(r"algo-1 joined as rank 0 of 2", leader.stdout)
    assert re.search(r"algo-2 joined as rank 1 of 2", worker.stdout)
    # AND every round's validation metric is the same on both hosts (all-reduced over both shards)
    metric = r"^\[\d+\]#validation-auc:\S+$"
    assert re.findall(metric, leader.stdout, flags=re.M) == re.findall(metric, worker.stdout, flags=re.M)
    # AND only the first host writes the model
    assert not any(worker.model_dir.iterdir())
    # AND the model is as good as one trained on all data in one process
    single = run_training(
        "train.py",
        channels={"train": write_csv(tmp_path / "all" / "train.csv", X_train, y_train),
                  "validation": write_csv(tmp_path / "all" / "val.csv", X_val, y_val)},
        hyperparameters=HPS,
        root=tmp_path / "single",
    )
    assert single.returncode == 0, single.stderr[-2000:]
    distributed_auc, single_auc = _auc(leader, X_val, y_val), _auc(single, X_val, y_val)
    assert distributed_auc > 0.97
    assert abs(distributed_auc - single_auc) < 0.01


@pytest.mark.slow
def test_busy_tracker_port_is_a_clear_user_error(tmp_path, breast_cancer, write_csv):
    import socket

    (X_train, y_train), _ = breast_cancer
    channel = write_csv(tmp_path / "train.csv", X_train, y_train)
    port = free_port()
    with socket.socket() as squatter:
        # GIVEN something else already listens on the tracker port
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        # WHEN the first host of a two-host job starts its tracker there
        result = run_training(
            "train.py", channels={"train": channel}, hyperparameters={**HPS, "tracker_port": port},
            hosts=["algo-1", "algo-2"], env={"SMXGB_TRACKER_HOST": "127.0.0.1"}, root=tmp_path / "ml", timeout=60,
        )
    # THEN it fails at once, naming the port and the hyperparameter to change
    assert result.returncode != 0
    assert re.search(rf"tracker port {port} .* already in use.*set the hyperparameter tracker_port", result.failure)
    assert result.last_stderr_line == "FAILURE: " + result.failure


def test_unreachable_tracker_fails_once_the_timeout_passes_with_a_clear_error(monkeypatch):
    from smxgb import distributed
    from smxgb.failure import UserError

    # GIVEN no tracker listens on the port, and a clock that only moves when the worker sleeps
    port = free_port()
    now = [1000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(distributed.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(distributed.time, "sleep", sleep)
    # WHEN a worker waits for it with a 1 s bound THEN it gives up, naming the address and the fix
    with pytest.raises(UserError, match=rf"tracker at 127.0.0.1:{port} not reachable within 1 s.*tracker_port"):
        distributed.wait_for_port("127.0.0.1", port, timeout=1)
    # AND it retried until the bound and not past it (time is simulated: no wall-clock assertion)
    assert sleeps and sum(sleeps[:-1]) < 1 <= sum(sleeps)
