"""Which split a row goes to: a deterministic function of the row's values and the seed.

Both preprocessing engines assign rows the same way, so the single-machine step
(``preprocess.py``) and the Spark step (``spark_preprocess.py``) produce the same
train/validation/test sets from the same input, whatever the file order,
partitioning or number of machines:

    hash   = xxhash64(seed, label, feature_1, ..., feature_n)   (Spark's ``xxhash64``)
    bucket = pmod(hash, BUCKETS)
    split  = train if bucket < train_cut, validation if bucket < validation_cut, else test

``xxhash64`` is Spark's SQL function (XXH64 of each value's 8 bytes, chained: each
value is hashed with the previous hash as its seed, starting from 42, nulls
skipped). This module is the same function written with numpy so that the
single-machine step, which runs in the XGBoost image without Spark, computes it
on whole columns; ``tests/training/test_spark_preprocess.py`` checks it against
Spark's own. Values are hashed as float64 (the label as its encoded value, the
seed as a long), ``-0.0`` as ``0.0`` and missing values (NaN) are skipped, as
Spark skips nulls. Identical rows land in the same split, so a duplicated row
cannot leak from train into test.
"""

from __future__ import annotations

import numpy as np

#: Resolution of the split fractions (a fraction is rounded to a multiple of 1/BUCKETS).
BUCKETS = 1_000_000
#: Spark's xxhash64 starts every row from this seed.
SPARK_HASH_SEED = 42

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)


def _rotl(value: np.ndarray, bits: int) -> np.ndarray:
    return (value << np.uint64(bits)) | (value >> np.uint64(64 - bits))


def hash_long(values: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """XXH64 of one 8-byte value per row (Spark's ``XXH64.hashLong``), as uint64, wrapping like Java longs."""
    values = np.asarray(values).view(np.uint64) if np.asarray(values).dtype != np.uint64 else values
    with np.errstate(over="ignore"):
        state = seed + _P5 + np.uint64(8)
        state ^= _rotl(values * _P2, 31) * _P1
        state = _rotl(state, 27) * _P1 + _P4
        state ^= state >> np.uint64(33)
        state *= _P2
        state ^= state >> np.uint64(29)
        state *= _P3
        state ^= state >> np.uint64(32)
    return state


def row_hashes(seed: int, labels: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Spark's ``xxhash64(seed, label, f1, ..., fn)`` for every row, as int64 (features: rows x n float64)."""
    rows = len(labels)
    state = np.full(rows, SPARK_HASH_SEED, dtype=np.uint64)
    state = hash_long(np.full(rows, seed, dtype=np.int64).view(np.uint64), state)
    columns = [np.asarray(labels, dtype=np.float64)]
    features = np.asarray(features, dtype=np.float64)
    columns.extend(features[:, index] for index in range(features.shape[1]))
    for column in columns:
        column = np.where(column == 0.0, 0.0, column)  # -0.0 and 0.0 are one value
        present = ~np.isnan(column)
        hashed = hash_long(np.ascontiguousarray(column).view(np.uint64), state)
        state = np.where(present, hashed, state)
    return state.view(np.int64)


def cuts(fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Bucket bounds: train below the first, validation below the second, test from there."""
    train_cut = round(fractions[0] * BUCKETS)
    return train_cut, min(BUCKETS, train_cut + round(fractions[1] * BUCKETS))


def assign(hashes: np.ndarray, fractions: tuple[float, float, float]) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test) for each row hash."""
    train_cut, validation_cut = cuts(fractions)
    buckets = np.mod(hashes, BUCKETS)  # non-negative for a positive divisor, like Spark's pmod
    return np.where(buckets < train_cut, 0, np.where(buckets < validation_cut, 1, 2)).astype(np.int8)
