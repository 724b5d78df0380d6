"""Shared fixtures for the training tests: real scikit-learn data sets written as channel files.

``training/`` goes on ``sys.path`` so unit tests import ``smxgb`` exactly as
the entry scripts do inside the container.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))


def write_csv(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    """Built-in convention: label first, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.6g")
    return path


def write_parquet(path: Path, X: np.ndarray, y: np.ndarray, label_name: str = "label") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {label_name: y.astype(np.float32)} | {f"x{i}": X[:, i].astype(np.float32) for i in range(X.shape[1])}
    pq.write_table(pa.table(columns), path)
    return path


def split(X: np.ndarray, y: np.ndarray, seed: int = 0, validation_fraction: float = 0.25):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    cut = int(len(y) * (1 - validation_fraction))
    return (X[order[:cut]], y[order[:cut]]), (X[order[cut:]], y[order[cut:]])


@pytest.fixture(name="write_csv")
def write_csv_fixture():
    return write_csv


@pytest.fixture(name="write_parquet")
def write_parquet_fixture():
    return write_parquet


@pytest.fixture(scope="session")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return split(X.astype(np.float32), y.astype(np.float32))


@pytest.fixture(scope="session")
def wine():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    return split(X.astype(np.float32), y.astype(np.float32))


@pytest.fixture(scope="session")
def diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return split(X.astype(np.float32), y.astype(np.float32))


@pytest.fixture
def binary_csv_channels(tmp_path, breast_cancer):
    """GIVEN breast-cancer train/validation channels as headerless label-first CSV."""
    (X_train, y_train), (X_val, y_val) = breast_cancer
    return {
        "train": write_csv(tmp_path / "data" / "train" / "train.csv", X_train, y_train).parent,
        "validation": write_csv(tmp_path / "data" / "validation" / "validation.csv", X_val, y_val).parent,
    }


@pytest.fixture(scope="session")
def spark():
    """One local PySpark session (2 cores) for every Spark test of a pytest process: the JVM starts once."""
    import spark_preprocess

    session = spark_preprocess.session("local[2]", app_name="mlp-tests", shuffle_partitions=4)
    yield session
    session.stop()
