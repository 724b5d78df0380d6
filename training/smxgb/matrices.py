"""Build XGBoost's quantised matrices from channels, in memory or streamed.

Both paths feed XGBoost through a ``DataIter`` of Arrow tables (or CSR blocks
for libsvm): no pandas frame and no dense numpy copy of the data set. XGBoost
reads the Arrow column buffers through its array interface; the only copy is
the re-chunking of one slice at a time into contiguous columns.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import xgboost as xgb

from smxgb import data as chdata
from smxgb.failure import UserError
from smxgb.labels import LabelRule

Batch = tuple[object, np.ndarray]  # (features: pa.Table or CSR, label)


class BatchIter(xgb.DataIter):
    """Replays a batch generator for each pass XGBoost makes over the data."""

    def __init__(self, make_batches: Callable[[], Iterator[Batch]], cache_prefix: str | None = None) -> None:
        self._make_batches = make_batches
        self._batches: Iterator[Batch] | None = None
        super().__init__(cache_prefix=cache_prefix, release_data=True)

    def reset(self) -> None:
        self._batches = None

    def next(self, input_data: Callable) -> bool:
        if self._batches is None:
            self._batches = self._make_batches()
        batch = next(self._batches, None)
        if batch is None:
            return False
        features, label = batch
        input_data(data=features, label=label)
        return True


# pyarrow parses CSV fastest in ~1 MB blocks, i.e. thousands of small chunks,
# but XGBoost pays per batch (a 1M-row matrix took 18 s as 355 chunks, 5 s as
# slices of 256k+ rows). Slices are re-chunked one at a time, so the extra
# memory is one slice, not a second copy of the data.
MEMORY_BATCH_ROWS = 1 << 19


def memory_batches(loaded: chdata.InMemoryData) -> Callable[[], Iterator[Batch]]:
    def batches() -> Iterator[Batch]:
        if not isinstance(loaded.features, pa.Table):
            yield loaded.features, loaded.label
            return
        for start in range(0, loaded.n_rows, MEMORY_BATCH_ROWS):
            stop = start + MEMORY_BATCH_ROWS
            yield loaded.features.slice(start, MEMORY_BATCH_ROWS), loaded.label[start:stop]

    return batches


def _stream_batches(
    channel: chdata.Channel,
    n_features: list[int | None],
    rule: LabelRule | None = None,
    names: list[tuple[str, ...] | None] | None = None,
) -> Callable[[], Iterator[Batch]]:
    """Stream file by file; ``n_features`` and ``names`` are one-element cells the first file fills."""
    names = names if names is not None else [None]

    def batches() -> Iterator[Batch]:
        for path in channel.files:
            header = chdata.file_header(path, channel.content_type)
            file_names = header.feature_names
            chdata.check_same_names(file_names, names[0], f"file {path} in channel '{channel.name}'")
            if names[0] is None:
                names[0] = file_names
            first_row = start_row = header.first_data_row
            if channel.content_type == chdata.LIBSVM:
                X, y = chdata.read_libsvm(path, n_features[0])
                parts = [(X, y)]
            elif channel.content_type == chdata.RECORDIO:
                parts = chdata.stream_recordio(path)
            elif channel.content_type == chdata.PARQUET:
                parts = ((chdata.features_of(t), chdata.label_array(t)) for t in chdata.stream_parquet(path))
            else:
                parts = ((chdata.features_of(t), chdata.label_array(t)) for t in chdata.stream_csv(path, header.layout))
            for features, label in parts:
                width = features.shape[1] if not isinstance(features, pa.Table) else features.num_columns
                if n_features[0] is None:
                    n_features[0] = width
                elif width != n_features[0]:
                    raise UserError(
                        f"file {path} has {width} features but {n_features[0]} were expected; "
                        "every file and channel needs the same feature columns"
                    )
                chdata.check_labels(label, path, first_row, rule, channel.name)
                chdata.check_features(features, path, first_row, file_names)
                first_row += len(label)
                if len(label):
                    yield features, label
            if first_row == start_row:
                raise UserError(f"file {path} has no rows; remove it or upload the data")

    return batches


@dataclass
class Matrices:
    train: xgb.DMatrix
    validation: xgb.DMatrix | None
    n_features: int
    n_train_rows: int
    n_validation_rows: int
    mode: str
    notes: list[str] = field(default_factory=list)
    feature_names: tuple[str, ...] | None = None
    cache_dir: Path | None = None

    def remove_cache(self) -> None:
        """Free the matrices and delete the external-memory cache (once training and scoring are done).

        The matrices go first: XGBoost deletes its cache pages when a matrix is freed and warns if they are gone.
        """
        if self.cache_dir is not None:
            self.train = self.validation = None
            gc.collect()
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def _global_max(value: int, distributed: bool) -> int:
    if not distributed:
        return value
    from xgboost import collective

    return int(collective.allreduce(np.array([value], dtype=np.int64), collective.Op.MAX)[0])


def build_in_memory(
    loaded: chdata.InMemoryData,
    loaded_valid: chdata.InMemoryData | None,
    *,
    max_bin: int | None,
    nthread: int,
    cuts_sample_rows: int,
    seed: int = 0,
    distributed: bool = False,
) -> Matrices:
    notes = []
    ref = None
    # Quantile cuts from a row sample are as good as from every row once the
    # sample has a few hundred thousand rows, and sketching the sample instead
    # of the full data is the single biggest saving in matrix build time. The
    # decision is global so every host makes the same collective calls.
    if cuts_sample_rows and _global_max(loaded.n_rows, distributed) > 2 * cuts_sample_rows:
        rng = np.random.default_rng(seed)
        count = min(cuts_sample_rows, loaded.n_rows)
        rows = np.sort(rng.choice(loaded.n_rows, size=count, replace=False))
        features = loaded.features
        sample = features.take(pa.array(rows)) if isinstance(features, pa.Table) else features[rows]
        ref = xgb.QuantileDMatrix(sample, max_bin=max_bin, nthread=nthread)
        notes.append(f"histogram cuts from {count} sampled rows of {loaded.n_rows}")
    dtrain = xgb.QuantileDMatrix(BatchIter(memory_batches(loaded)), max_bin=max_bin, nthread=nthread, ref=ref)
    n_features = loaded.n_features
    dvalid, n_valid = None, 0
    if loaded_valid is not None:
        n_valid = loaded_valid.n_rows
        dvalid = xgb.QuantileDMatrix(
            BatchIter(memory_batches(loaded_valid)), max_bin=max_bin, nthread=nthread, ref=dtrain
        )
    return Matrices(dtrain, dvalid, n_features, dtrain.num_row(), n_valid, chdata.MEMORY, notes,
                    loaded.feature_names)


def build_external(
    train: chdata.Channel,
    validation: chdata.Channel | None,
    *,
    max_bin: int | None,
    nthread: int,
    cache_dir: Path | None = None,
    rule: LabelRule | None = None,
) -> Matrices:
    cache_root = Path(tempfile.mkdtemp(prefix="smxgb-cache-", dir=cache_dir))
    dtrain = dvalid = None
    try:
        width: list[int | None] = [None]
        names: list[tuple[str, ...] | None] = [None]
        dtrain = xgb.ExtMemQuantileDMatrix(
            BatchIter(_stream_batches(train, width, rule, names), cache_prefix=str(cache_root / "train")),
            max_bin=max_bin,
            nthread=nthread,
        )
        dvalid, n_valid = None, 0
        if validation is not None:
            valid_width: list[int | None] = [width[0]]
            dvalid = xgb.ExtMemQuantileDMatrix(
                BatchIter(_stream_batches(validation, valid_width, rule, [names[0]]),
                          cache_prefix=str(cache_root / "validation")),
                max_bin=max_bin,
                nthread=nthread,
                ref=dtrain,
            )
            n_valid = dvalid.num_row()
    except BaseException as exc:
        # Free the matrices first: XGBoost removes its own pages when one is freed and warns (after our
        # FAILURE line) if they are gone. XGBoost's frames in the traceback hold them, so a user error,
        # reported without a traceback anyway, drops it.
        dtrain = dvalid = None
        if isinstance(exc, UserError):
            exc.__traceback__ = None
        gc.collect()
        shutil.rmtree(cache_root, ignore_errors=True)
        raise
    return Matrices(
        dtrain, dvalid, int(width[0] or dtrain.num_col()), dtrain.num_row(), n_valid, chdata.EXTERNAL,
        [f"external memory cache in {cache_root}"], names[0], cache_root,
    )
