"""The Spark step on a standalone cluster: a master and two workers on 127.0.0.1, each worker one core.

Proves that the job really distributes (each worker runs an executor of the application and the
shards come from tasks on both) and that the cluster's split equals the single-machine step's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import preprocess
import pytest
from sklearn.datasets import load_breast_cancer

from bench.spark_cluster import standalone_cluster
from smxgb.data import read_channel_arrays

pytestmark = pytest.mark.slow

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"


def _args(root: Path) -> list[str]:
    return ["--input-dir", str(root / "input"), "--train-dir", str(root / "train"),
            "--validation-dir", str(root / "validation"), "--test-dir", str(root / "test"),
            "--schema-dir", str(root / "schema"), "--failure-dir", str(root / "output"),
            "--label-column", "target", "--seed", "5"]


def test_two_workers_share_the_job_and_split_like_one_machine(tmp_path) -> None:
    # GIVEN breast cancer in 4 CSV files, and a standalone cluster of two one-core workers
    frame = load_breast_cancer(as_frame=True).frame
    for run in ("single", "cluster"):
        (tmp_path / run / "input").mkdir(parents=True)
        for index, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
            frame.iloc[part].to_csv(tmp_path / run / "input" / f"part-{index}.csv", index=False)
    preprocess.preprocess(preprocess.parse_args([*_args(tmp_path / "single"), "--output-format", "parquet"]))

    with standalone_cluster(tmp_path / "spark", workers=2) as master:
        # WHEN spark_preprocess.py runs against it as its own driver process
        result = subprocess.run(
            [sys.executable, str(TRAINING_DIR / "spark_preprocess.py"), *_args(tmp_path / "cluster"),
             "--master", master, "--shuffle-partitions", "4"],
            capture_output=True, text=True, timeout=600, cwd=TRAINING_DIR,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable},
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 cores" in result.stdout
    # THEN each worker ran an executor of the application (its work dir holds that executor's logs)
    for index in range(2):
        executors = list((tmp_path / "spark" / f"worker-{index}").glob("app-*/*/stderr"))
        assert executors, f"worker {index} ran no executor"
    # AND the shards hold exactly the single-machine step's rows, split for split
    assert len(list((tmp_path / "cluster" / "train").glob("part-*.parquet"))) >= 2
    for name in preprocess.SPLITS:
        ours = np.column_stack(read_channel_arrays(tmp_path / "cluster" / name)[::-1])
        theirs = np.column_stack(read_channel_arrays(tmp_path / "single" / name)[::-1])
        np.testing.assert_array_equal(ours[np.lexsort(ours.T[::-1])], theirs[np.lexsort(theirs.T[::-1])])
