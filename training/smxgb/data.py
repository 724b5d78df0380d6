"""Read a channel (CSV, Parquet or libsvm; one file or a tree of files) into XGBoost.

Conventions follow the built-in XGBoost algorithm: CSV has the label in the
first column and no header; Parquet has a ``label`` column or the label first;
libsvm carries the label in each line.

Two paths, chosen by :func:`choose_mode`:

* memory: pyarrow reads every file with all threads straight into float32
  Arrow columns; XGBoost consumes the Arrow record batches through a
  ``DataIter`` (no pandas, no dense copy), building ``QuantileDMatrix``.
* external: the same iterator streams files batch by batch into an
  ``ExtMemQuantileDMatrix``, so peak memory is one batch plus the compressed
  histogram index, for data larger than RAM.

Every bad input ends in a :class:`~smxgb.failure.UserError` naming the file,
the row when known, and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smxgb.failure import UserError

CSV = "text/csv"
PARQUET = "application/x-parquet"
LIBSVM = "text/libsvm"

_CONTENT_TYPES = {
    "text/csv": CSV,
    "csv": CSV,
    "text/x-csv": CSV,
    "application/x-parquet": PARQUET,
    "application/parquet": PARQUET,
    "application/vnd.apache.parquet": PARQUET,
    "parquet": PARQUET,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "libsvm": LIBSVM,
}
_EXTENSIONS = {".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET, ".libsvm": LIBSVM, ".svm": LIBSVM}

LABEL_COLUMN = "label"
# pyarrow's default 1 MB block parses fastest (64 MB blocks were 2.5x slower);
# the in-memory path re-slices the resulting small chunks for XGBoost.
CSV_BLOCK_SIZE = 1 << 20
STREAM_BATCH_ROWS = 256_000

MEMORY = "memory"
EXTERNAL = "external"
AUTO = "auto"
# In-memory training holds the Arrow columns and the quantised matrix at once;
# leave head room for the booster and the validation set.
_MEMORY_HEADROOM = 0.6
_GZIP_EXPANSION = 4


def normalize_content_type(value: str | None) -> str | None:
    """``text/csv; label_size=1`` -> ``text/csv``; ``None`` when not recognised."""
    if not value:
        return None
    return _CONTENT_TYPES.get(value.split(";")[0].strip().lower())


def _stem_suffix(path: Path) -> str:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Path(name).suffix.lower()


def list_files(path: Path) -> list[Path]:
    """Every data file under ``path`` (or ``path`` itself), recursively, sorted.

    Hidden files and marker files such as ``_SUCCESS`` are skipped: Spark and
    notebooks leave them beside data, and they are never data.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"input path {path} does not exist; point the channel at a file or directory of data files")
    files = [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    ]
    return files


def detect_content_type(files: list[Path], declared: str | None = None) -> str:
    """The declared content type if given, else the one the file extensions agree on, else CSV."""
    if declared:
        content_type = normalize_content_type(declared)
        if content_type is None:
            raise UserError(
                f"unsupported content type {declared!r}; use one of text/csv, application/x-parquet, text/libsvm"
            )
        return content_type
    found = {_EXTENSIONS.get(_stem_suffix(f)) for f in files} - {None}
    if len(found) > 1:
        raise UserError(
            f"channel mixes file types {sorted(found)}; keep one format per channel or set content_type"
        )
    # The built-in algorithm's default is CSV; extension-less files are common on S3.
    return found.pop() if found else CSV


@dataclass
class Channel:
    name: str
    files: list[Path]
    content_type: str

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def open_channel(name: str, path: Path, content_type: str | None = None) -> Channel:
    files = list_files(Path(path))
    if not files:
        raise UserError(f"channel '{name}' at {path} has no data files; upload data to the channel's S3 prefix")
    empty = [f for f in files if f.stat().st_size == 0]
    if empty:
        raise UserError(f"file {empty[0]} in channel '{name}' is empty; remove it or upload the data")
    return Channel(name, files, detect_content_type(files, content_type))


# ---------------------------------------------------------------- CSV


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.name.endswith(".gz") else open(path, newline="")  # noqa: SIM115


def _csv_column_count(path: Path) -> int:
    with _open_text(path) as handle:
        for line in handle:
            if line.strip():
                return len(next(csv.reader([line])))
    raise UserError(f"file {path} has no rows; remove it or upload the data")


def _column_names(n_columns: int) -> list[str]:
    return [LABEL_COLUMN] + [f"f{i}" for i in range(n_columns - 1)]


def _diagnose_csv(path: Path, n_columns: int) -> UserError:
    """Find the first bad row; only runs after pyarrow rejected the file, so speed is moot."""
    with _open_text(path) as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != n_columns:
                return UserError(
                    f"file {path} row {row_number} has {len(row)} columns but row 1 has {n_columns}; "
                    "every row needs the label plus the same features"
                )
            for column, value in enumerate(row):
                value = value.strip()
                if value == "":
                    continue
                try:
                    float(value)
                except ValueError:
                    hint = (
                        " (a header row? the built-in CSV convention has no header: remove it)"
                        if row_number == 1
                        else ""
                    )
                    return UserError(
                        f"file {path} row {row_number} column {column + 1} has non-numeric value {value!r}{hint}; "
                        "encode categories as numbers before training"
                    )
    return UserError(f"file {path} is not valid CSV; use comma-separated numbers with the label first")


def _csv_options(n_columns: int, block_size: int = CSV_BLOCK_SIZE):
    names = _column_names(n_columns)
    read = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=block_size)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float32()))
    return read, convert


def read_csv_table(path: Path) -> pa.Table:
    n_columns = _csv_column_count(path)
    if n_columns < 2:
        raise UserError(f"file {path} has only one column; CSV needs the label first, then at least one feature")
    read, convert = _csv_options(n_columns)
    try:
        return pacsv.read_csv(path, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise _diagnose_csv(path, n_columns) from exc


def stream_csv(path: Path) -> Iterator[pa.Table]:
    n_columns = _csv_column_count(path)
    read, convert = _csv_options(n_columns)
    pending: list[pa.RecordBatch] = []
    try:
        # Gather small parse blocks into batches of ~STREAM_BATCH_ROWS: XGBoost pays per batch.
        for batch in pacsv.open_csv(path, read_options=read, convert_options=convert):
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= STREAM_BATCH_ROWS:
                yield pa.Table.from_batches(pending).combine_chunks()
                pending = []
    except pa.ArrowInvalid as exc:
        raise _diagnose_csv(path, n_columns) from exc
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


# ---------------------------------------------------------------- Parquet


def _parquet_to_float(table: pa.Table | pa.RecordBatch, path: Path) -> pa.Table:
    names = list(table.schema.names)
    label = LABEL_COLUMN if LABEL_COLUMN in names else names[0]
    order = [label] + [n for n in names if n != label]
    columns = []
    for name in order:
        column = table.column(name)
        numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        if not (numeric or pa.types.is_boolean(column.type)):
            raise UserError(
                f"file {path} column {name!r} has non-numeric type {column.type}; "
                "encode it as numbers before training"
            )
        columns.append(column if column.type == pa.float32() else pc.cast(column, pa.float32()))
    if len(columns) < 2:
        raise UserError(f"file {path} has only one column; Parquet needs a label and at least one feature")
    return pa.Table.from_arrays(columns, names=_column_names(len(columns)))


def read_parquet_table(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path, use_threads=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"file {path} is not valid Parquet ({' '.join(str(exc).split())}); rewrite it") from exc
    return _parquet_to_float(table, path)


def stream_parquet(path: Path) -> Iterator[pa.Table]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=STREAM_BATCH_ROWS):
        yield _parquet_to_float(pa.Table.from_batches([batch]), path)


# ---------------------------------------------------------------- libsvm


def read_libsvm(path: Path, n_features: int | None = None):
    from sklearn.datasets import load_svmlight_file  # container ships scikit-learn; only libsvm needs it

    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as handle:  # noqa: SIM115
            X, y = load_svmlight_file(io.BytesIO(handle.read()), n_features=n_features, dtype=np.float32)
    except ValueError as exc:
        raise UserError(f"file {path} is not valid libsvm ({exc}); use 'label index:value ...' lines") from exc
    return X.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------- checks


def check_labels(label: np.ndarray, path: Path, first_row: int = 1) -> None:
    bad = np.flatnonzero(~np.isfinite(label))
    if bad.size:
        raise UserError(
            f"file {path} row {first_row + int(bad[0])} has a missing or NaN label ({bad.size} such rows); "
            "drop or fill these rows: every row needs a numeric label in the first column"
        )


def label_array(table: pa.Table) -> np.ndarray:
    column = table.column(LABEL_COLUMN)
    return pc.fill_null(column, math.nan).to_numpy().astype(np.float32, copy=False)


def features_of(table: pa.Table) -> pa.Table:
    return table.drop_columns([LABEL_COLUMN])


def read_table(path: Path, content_type: str) -> pa.Table:
    table = read_parquet_table(path) if content_type == PARQUET else read_csv_table(path)
    if table.num_rows == 0:
        raise UserError(f"file {path} has no rows; remove it or upload the data")
    check_labels(label_array(table), path)
    return table


def _check_same_width(n_features: int, expected: int | None, where: str) -> None:
    if expected is not None and n_features != expected:
        raise UserError(
            f"{where} has {n_features} features but {expected} were expected (as in the training data); "
            "every channel needs the same feature columns in the same order"
        )


@dataclass
class InMemoryData:
    """One channel in memory: Arrow features + numpy label, or CSR for libsvm."""

    features: pa.Table | object
    label: np.ndarray
    n_features: int

    @property
    def n_rows(self) -> int:
        return len(self.label)


def load_channel(channel: Channel, n_features: int | None = None) -> InMemoryData:
    """Read every file of a channel; ``n_features`` enforces the training data's width."""
    if channel.content_type == LIBSVM:
        import scipy.sparse as sp

        parts = [read_libsvm(f, n_features) for f in channel.files]
        for f, (_, y) in zip(channel.files, parts, strict=True):
            check_labels(y, f)
        width = max(X.shape[1] for X, _ in parts)
        matrices = [sp.csr_matrix(X, shape=(X.shape[0], width)) for X, _ in parts]
        X = sp.vstack(matrices, format="csr") if len(matrices) > 1 else matrices[0]
        _check_same_width(width, n_features, f"channel '{channel.name}'")
        return InMemoryData(X, np.concatenate([y for _, y in parts]), width)
    tables = []
    for f in channel.files:
        table = read_table(f, channel.content_type)
        _check_same_width(table.num_columns - 1, n_features, f"file {f} in channel '{channel.name}'")
        # The first file fixes the width for the rest of an unconstrained channel.
        n_features = table.num_columns - 1
        tables.append(table)
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return InMemoryData(features_of(table), label_array(table), table.num_columns - 1)


def _dense(features) -> np.ndarray:
    if isinstance(features, pa.Table):
        if features.num_rows == 0:
            return np.empty((0, features.num_columns), dtype=np.float32)
        out = np.empty((features.num_rows, features.num_columns), dtype=np.float32)
        for i, column in enumerate(features.columns):
            out[:, i] = pc.fill_null(column, math.nan).to_numpy()
        return out
    return np.asarray(features.toarray(), dtype=np.float32)


def read_channel_arrays(path: str | Path, content_type: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Small data as dense arrays: ``X`` (rows x features, float32, NaN = missing) and ``y`` (float32).

    Same formats, conventions and error messages as training, so evaluation
    reads exactly what training read.
    """
    data = load_channel(open_channel("data", Path(path), content_type))
    return _dense(data.features), data.label


# ---------------------------------------------------------------- mode


def estimated_memory_bytes(channel: Channel) -> int:
    """Rough size of the channel as float32 columns in memory."""
    total = 0
    for f in channel.files:
        if channel.content_type == PARQUET:
            meta = pq.ParquetFile(f).metadata
            total += meta.num_rows * meta.num_columns * 4
        else:
            # Text numbers take ~2-10 bytes plus a separator versus 4 as float32,
            # so the file size over-estimates, which errs toward safety.
            total += f.stat().st_size * (_GZIP_EXPANSION if f.name.endswith(".gz") else 1)
    return total


def choose_mode(channels: list[Channel], requested: str = AUTO, available_bytes: int | None = None) -> str:
    if requested in (MEMORY, EXTERNAL):
        return requested
    if available_bytes is None:
        import psutil

        available_bytes = psutil.virtual_memory().available
    needed = sum(estimated_memory_bytes(c) for c in channels)
    return MEMORY if needed <= available_bytes * _MEMORY_HEADROOM else EXTERNAL
