"""Read a channel (CSV, Parquet, libsvm or RecordIO-protobuf; one file or a tree of files) into XGBoost.

Conventions follow the built-in XGBoost algorithm: CSV has the label in the
first column and no header; libsvm and RecordIO-protobuf (:mod:`smxgb.recordio`)
carry the label in each record. Data with
column names finds the label by name, never by position: Parquet, and CSV
whose first row is a header (every field a non-numeric name), need a column
named ``label``; the other columns are the features, in file order.

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

import contextlib
import csv
import gzip
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from smxgb.failure import UserError
from smxgb.labels import LabelRule

CSV = "text/csv"
PARQUET = "application/x-parquet"
LIBSVM = "text/libsvm"
RECORDIO = "application/x-recordio-protobuf"

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
    "application/x-recordio-protobuf": RECORDIO,
    "recordio-protobuf": RECORDIO,
    "recordio": RECORDIO,
}
_EXTENSIONS = {".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET, ".libsvm": LIBSVM, ".svm": LIBSVM,
               ".recordio": RECORDIO, ".pbr": RECORDIO}

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
_GZIP_MAGIC = b"\x1f\x8b"
_CSV_FIX = "use UTF-8 comma-separated numbers, the label first (or a header row naming a 'label' column)"


def normalize_content_type(value: str | None) -> str | None:
    """``text/csv; label_size=1`` -> ``text/csv``; ``None`` when not recognised."""
    if not value:
        return None
    return _CONTENT_TYPES.get(value.split(";")[0].strip().lower())


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _stem_suffix(path: Path) -> str:
    name = path.name[:-3] if _is_gzip(path) else path.name
    return Path(name).suffix.lower()


def _brief(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bad_gzip(path: Path, exc: BaseException | str) -> UserError:
    reason = exc if isinstance(exc, str) else _brief(exc)
    return UserError(
        f"file {path} is named .gz but is not a complete gzip file ({reason}); "
        "upload it again compressed with gzip, or drop the .gz suffix if it is not compressed"
    )


@contextlib.contextmanager
def _reading(path: Path, fix: str) -> Iterator[None]:
    """Turn a failure to decode one file (bad gzip, not text, unreadable) into a UserError naming it."""
    try:
        yield
    except UserError:
        raise
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _bad_gzip(path, exc) from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"file {path} is not UTF-8 text ({_brief(exc)}); {fix}") from exc
    except OSError as exc:  # pyarrow reports a truncated gzip stream as OSError
        if _is_gzip(path):
            raise _bad_gzip(path, exc) from exc
        raise UserError(f"cannot read file {path} ({_brief(exc)}); {fix}") from exc


def check_gzip_header(path: Path) -> None:
    """A ``.gz`` file must start with the gzip magic; a truncated one is caught when it is read."""
    if not _is_gzip(path):
        return
    with open(path, "rb") as handle:
        if handle.read(2) != _GZIP_MAGIC:
            raise _bad_gzip(path, "no gzip header")


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
                f"unsupported content type {declared!r}; use one of text/csv, application/x-parquet, text/libsvm,"
                " application/x-recordio-protobuf"
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
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"channel '{name}' path {path} does not exist; point the channel at an existing file or directory "
            "of data files (SM_CHANNEL_" + name.upper() + ")"
        )
    files = list_files(path)
    if not files:
        raise UserError(f"channel '{name}' at {path} has no data files; upload data to the channel's S3 prefix")
    empty = [f for f in files if f.stat().st_size == 0]
    if empty:
        raise UserError(f"file {empty[0]} in channel '{name}' is empty; remove it or upload the data")
    for f in files:
        check_gzip_header(f)
    return Channel(name, files, detect_content_type(files, content_type))


# ---------------------------------------------------------------- CSV


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if _is_gzip(path) else open(path, newline="")  # noqa: SIM115


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class CsvLayout:
    """Column count and, when the first row is a header, its names."""

    n_columns: int
    header: tuple[str, ...] | None = None  # stripped names
    raw_header: tuple[str, ...] | None = None  # as pyarrow reads them

    @property
    def label_index(self) -> int:
        return self.header.index(LABEL_COLUMN) if self.header else 0

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        if self.header is None:
            return None
        return tuple(n for i, n in enumerate(self.header) if i != self.label_index)

    @property
    def first_data_row(self) -> int:
        return 2 if self.header else 1


def _preview(names) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:8])
    return shown + (f", ... ({len(names)} columns)" if len(names) > 8 else "")


def csv_layout(path: Path) -> CsvLayout:
    """Read the first non-blank row: its width, and whether it is a header.

    A header is a row in which every field is a non-empty, non-numeric name; a
    header must name the label column ``label``. Any other first row is data.
    """
    row = None
    with _reading(path, _CSV_FIX), _open_text(path) as handle:
        for line in handle:
            if line.strip():
                row = next(csv.reader([line]))
                break
    if row is None:
        raise UserError(f"file {path} has no rows; remove it or upload the data")
    names = tuple(field.strip() for field in row)
    if len(names) < 2 or not all(name and not _is_number(name) for name in names):
        return CsvLayout(len(row))
    if LABEL_COLUMN not in names:
        raise UserError(
            f"file {path} has a header row ({_preview(names)}) but no '{LABEL_COLUMN}' column; name the label "
            f"column '{LABEL_COLUMN}' in the header, or remove the header row to use the first column as the label"
        )
    _check_unique(names, path)
    return CsvLayout(len(row), names, tuple(row))


def _column_names(n_columns: int) -> list[str]:
    return [LABEL_COLUMN] + [f"f{i}" for i in range(n_columns - 1)]


def _diagnose_csv(path: Path, layout: CsvLayout) -> UserError:
    """Find the first bad row; only runs after pyarrow rejected the file, so speed is moot."""
    n_columns = layout.n_columns
    header_pending = layout.header is not None
    with _reading(path, _CSV_FIX), _open_text(path) as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if header_pending:
                header_pending = False
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
                        " (a header row? a header names every column, none of them a number, one of them"
                        f" '{LABEL_COLUMN}'; or remove it: without a header the label is the first column)"
                        if row_number == 1
                        else ""
                    )
                    return UserError(
                        f"file {path} row {row_number} column {column + 1} has non-numeric value {value!r}{hint}; "
                        "encode categories as numbers before training"
                    )
    return UserError(f"file {path} is not valid CSV; {_CSV_FIX}")


def _csv_options(layout: CsvLayout, block_size: int = CSV_BLOCK_SIZE):
    if layout.header is None:
        names = _column_names(layout.n_columns)
        read = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=block_size)
    else:
        # pyarrow reads the header itself, unstripped, as the csv module does.
        names = list(layout.raw_header or ())
        read = pacsv.ReadOptions(autogenerate_column_names=False, use_threads=True, block_size=block_size)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float32()))
    return read, convert


def _label_first(table: pa.Table, layout: CsvLayout, path: Path) -> pa.Table:
    """Headered CSV: move the label column first and use the internal names (label, f0, f1, ...)."""
    if layout.header is None:
        return table
    if table.num_columns != layout.n_columns:
        raise UserError(
            f"file {path} header has {layout.n_columns} names but the rows have {table.num_columns} "
            "columns; give every column one name"
        )
    label = layout.label_index
    order = [label] + [i for i in range(layout.n_columns) if i != label]
    return table.select(order).rename_columns(_column_names(layout.n_columns))


def _one_column(path: Path) -> UserError:
    with _reading(path, _CSV_FIX), _open_text(path) as handle:
        first = handle.readline()
    hint = " (separated by ';' or tabs? use commas)" if (";" in first or "\t" in first) else ""
    return UserError(f"file {path} has only one column{hint}; CSV needs the label, then at least one feature")


def read_csv_table(path: Path, layout: CsvLayout | None = None) -> pa.Table:
    layout = layout or csv_layout(path)
    if layout.n_columns < 2:
        raise _one_column(path)
    read, convert = _csv_options(layout)
    with _reading(path, _CSV_FIX):
        try:
            table = pacsv.read_csv(path, read_options=read, convert_options=convert)
        except pa.ArrowInvalid as exc:
            raise _diagnose_csv(path, layout) from exc
    return _label_first(table, layout, path)


def stream_csv(path: Path, layout: CsvLayout | None = None) -> Iterator[pa.Table]:
    layout = layout or csv_layout(path)
    if layout.n_columns < 2:
        raise _one_column(path)
    read, convert = _csv_options(layout)
    pending: list[pa.RecordBatch] = []
    with _reading(path, _CSV_FIX):
        try:
            # Gather small parse blocks into batches of ~STREAM_BATCH_ROWS: XGBoost pays per batch.
            for batch in pacsv.open_csv(path, read_options=read, convert_options=convert):
                pending.append(batch)
                if sum(b.num_rows for b in pending) >= STREAM_BATCH_ROWS:
                    yield _label_first(pa.Table.from_batches(pending).combine_chunks(), layout, path)
                    pending = []
        except pa.ArrowInvalid as exc:
            raise _diagnose_csv(path, layout) from exc
    if pending:
        yield _label_first(pa.Table.from_batches(pending).combine_chunks(), layout, path)


# ---------------------------------------------------------------- Parquet


def _parquet_label_index(names: list[str], path: Path) -> int:
    if LABEL_COLUMN not in names:
        raise UserError(
            f"file {path} has no '{LABEL_COLUMN}' column (columns: {_preview(names)}); name the label column "
            f"'{LABEL_COLUMN}': Parquet has column names, so the label is found by name, not by position"
        )
    _check_unique(names, path)
    return names.index(LABEL_COLUMN)


def _check_unique(names, path: Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UserError(
                f"file {path} has more than one column named {name!r}; give every column its own name "
                "(channels are matched column by column by name)"
            )
        seen.add(name)


def _parquet_to_float(table: pa.Table | pa.RecordBatch, path: Path) -> pa.Table:
    names = list(table.schema.names)
    label = _parquet_label_index(names, path)
    order = [label] + [i for i in range(len(names)) if i != label]
    columns = []
    for index in order:
        column = table.column(index)
        numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        if not (numeric or pa.types.is_boolean(column.type)):
            raise UserError(
                f"file {path} column {names[index]!r} has non-numeric type {column.type}; "
                "encode it as numbers before training"
            )
        columns.append(column if column.type == pa.float32() else pc.cast(column, pa.float32()))
    if len(columns) < 2:
        raise UserError(f"file {path} has only one column; Parquet needs a label and at least one feature")
    return pa.Table.from_arrays(columns, names=_column_names(len(columns)))


def _bad_parquet(path: Path, exc: BaseException) -> UserError:
    hint = " (gzip-compressed? Parquet compresses itself: upload it uncompressed)" if _is_gzip(path) else ""
    return UserError(f"file {path} is not valid Parquet ({_brief(exc)}){hint}; rewrite it")


def read_parquet_table(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path, use_threads=True)
    except (pa.ArrowException, OSError) as exc:
        raise _bad_parquet(path, exc) from exc
    return _parquet_to_float(table, path)


def stream_parquet(path: Path) -> Iterator[pa.Table]:
    try:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=STREAM_BATCH_ROWS)
        for batch in batches:
            yield _parquet_to_float(pa.Table.from_batches([batch]), path)
    except (pa.ArrowException, OSError) as exc:
        raise _bad_parquet(path, exc) from exc


def parquet_feature_names(path: Path) -> tuple[str, ...]:
    try:
        names = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        raise _bad_parquet(path, exc) from exc
    label = _parquet_label_index(names, path)
    return tuple(n for i, n in enumerate(names) if i != label)


# ---------------------------------------------------------------- libsvm


def read_libsvm(path: Path, n_features: int | None = None):
    from sklearn.datasets import load_svmlight_file  # container ships scikit-learn; only libsvm needs it

    fix = "use 'label index:value ...' lines"
    with _reading(path, fix):
        with (gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")) as handle:  # noqa: SIM115
            raw = handle.read()
    try:
        X, y = load_svmlight_file(io.BytesIO(raw), n_features=n_features, dtype=np.float32)
    except (ValueError, IndexError, OverflowError, UnicodeDecodeError) as exc:
        raise UserError(f"file {path} is not valid libsvm ({_brief(exc)}); {fix}") from exc
    if X.shape[0] == 0:
        raise UserError(f"file {path} has no rows; remove it or upload the data")
    return X.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------- RecordIO-protobuf


def _recordio_features(block):
    """Dense records as Arrow columns (named as the other formats' internal names), sparse ones as CSR."""
    if block.columns is None:
        return block.sparse
    return pa.Table.from_arrays([pa.array(c) for c in block.columns], names=_column_names(block.width + 1)[1:])


def read_recordio(path: Path):
    """(features, label) of one RecordIO-protobuf file: an Arrow table of float32 columns, or CSR if sparse."""
    from smxgb import recordio

    with _reading(path, "write RecordIO-protobuf records"), _open_binary(path) as handle:
        block = recordio.read_all(handle.read, f"file {path}")
    return _recordio_features(block), block.label


def stream_recordio(path: Path) -> Iterator[tuple[object, np.ndarray]]:
    """Batches of about STREAM_BATCH_ROWS records of one file, for the external-memory path."""
    from smxgb import recordio

    pending: list = []
    with _reading(path, "write RecordIO-protobuf records"), _open_binary(path) as handle:
        for block in recordio.iter_blocks(handle.read, f"file {path}"):
            pending.append(block)
            if sum(b.n_rows for b in pending) >= STREAM_BATCH_ROWS:
                merged = recordio.concat(pending)
                yield _recordio_features(merged), merged.label
                pending = []
    if pending:
        merged = recordio.concat(pending)
        yield _recordio_features(merged), merged.label


def _open_binary(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")  # noqa: SIM115


# ---------------------------------------------------------------- checks


def _label_text(value: float) -> str:
    return "missing/NaN" if math.isnan(value) else f"{value:g}"


def check_features(features, path: Path, first_row: int = 1, names: tuple[str, ...] | None = None) -> None:
    """No infinite feature values (too-large numbers parse as inf): XGBoost rejects them with no file or row."""
    fix = "replace it with a finite number, or leave the field empty for a missing value"
    if isinstance(features, pa.Table):
        for index, column in enumerate(features.columns):
            if not pa.types.is_floating(column.type):
                continue
            infinite = pc.is_inf(column)
            if pc.any(infinite).as_py():
                row = pc.index(infinite, True).as_py()
                what = f"column {names[index]!r}" if names else f"column {index + 2}"
                raise UserError(
                    f"file {path} row {first_row + row} {what} has an infinite or too large value "
                    f"({column[row].as_py():g}); {fix}"
                )
        return
    data = getattr(features, "data", None)
    if data is not None and np.isinf(data).any():
        raise UserError(f"file {path} has an infinite or too large feature value; {fix}")


def check_labels(
    label: np.ndarray, path: Path, first_row: int = 1, rule: LabelRule | None = None, channel: str | None = None
) -> None:
    """Every label finite, and in ``rule``'s domain: else a UserError naming file, row, value and fix."""
    channel_text = f" in channel '{channel}'" if channel else ""
    bad = np.flatnonzero(~np.isfinite(label))
    if bad.size:
        value = float(label[bad[0]])
        what = "a missing or NaN label" if math.isnan(value) else f"an infinite label ({value:g})"
        raise UserError(
            f"file {path} row {first_row + int(bad[0])} has {what} ({bad.size} such rows{channel_text}); "
            "drop or fill these rows: every row needs a finite numeric label"
        )
    found = rule.first_bad(label) if rule is not None and len(label) else None
    if found is not None:
        index, count = found
        raise UserError(
            f"file {path} row {first_row + index} has label {_label_text(float(label[index]))} but "
            f"objective={rule.objective} needs {rule.requirement} ({count} such rows{channel_text}); {rule.fix}"
        )


def label_array(table: pa.Table) -> np.ndarray:
    column = table.column(LABEL_COLUMN)
    return pc.fill_null(column, math.nan).to_numpy().astype(np.float32, copy=False)


def features_of(table: pa.Table) -> pa.Table:
    return table.drop_columns([LABEL_COLUMN])


@dataclass(frozen=True)
class FileHeader:
    """What a file's first row or schema says, read once: the CSV layout (CSV only) and the
    feature column names (Parquet, headered CSV; else ``None``)."""

    layout: CsvLayout | None
    feature_names: tuple[str, ...] | None

    @property
    def first_data_row(self) -> int:
        return self.layout.first_data_row if self.layout else 1


def file_header(path: Path, content_type: str) -> FileHeader:
    if content_type == PARQUET:
        return FileHeader(None, parquet_feature_names(path))
    if content_type == CSV:
        layout = csv_layout(path)
        return FileHeader(layout, layout.feature_names)
    return FileHeader(None, None)


def read_table(path: Path, content_type: str, header: FileHeader, rule: LabelRule | None = None,
               channel: str | None = None) -> pa.Table:
    """One CSV or Parquet file, checked; ``header`` is :func:`file_header` of it, read once by the caller."""
    table = read_parquet_table(path) if content_type == PARQUET else read_csv_table(path, header.layout)
    if table.num_rows == 0:
        raise UserError(f"file {path} has no rows; remove it or upload the data")
    check_labels(label_array(table), path, header.first_data_row, rule, channel)
    check_features(features_of(table), path, header.first_data_row, header.feature_names)
    return table


def _check_same_width(n_features: int, expected: int | None, where: str) -> None:
    if expected is not None and n_features != expected:
        raise UserError(
            f"{where} has {n_features} features but {expected} were expected (as in the training data); "
            "every channel needs the same feature columns in the same order"
        )


def check_same_names(names: tuple[str, ...] | None, expected: tuple[str, ...] | None, where: str,
                     reference: str = "the training data") -> None:
    """Named feature columns must match the reference's names, in order (unnamed data is checked by width)."""
    if names is None or expected is None or names == expected:
        return
    position = next((i for i, (a, b) in enumerate(zip(names, expected, strict=False)) if a != b),
                    min(len(names), len(expected)))
    ours = repr(names[position]) if position < len(names) else "nothing"
    theirs = repr(expected[position]) if position < len(expected) else "nothing"
    raise UserError(
        f"{where} has feature columns ({_preview(names)}) that differ from {reference} ({_preview(expected)}): "
        f"feature {position + 1} is {ours}, not {theirs}; every channel needs the same feature columns "
        "in the same order"
    )


@dataclass
class InMemoryData:
    """One channel in memory: Arrow features + numpy label, or CSR for libsvm."""

    features: pa.Table | object
    label: np.ndarray
    n_features: int
    feature_names: tuple[str, ...] | None = None

    @property
    def n_rows(self) -> int:
        return len(self.label)


def load_channel(
    channel: Channel,
    n_features: int | None = None,
    *,
    names: tuple[str, ...] | None = None,
    rule: LabelRule | None = None,
) -> InMemoryData:
    """Read every file of a channel.

    ``n_features`` and ``names`` enforce the training data's width and column
    names; ``rule`` the objective's label domain.
    """
    if channel.content_type in (LIBSVM, RECORDIO):
        import scipy.sparse as sp

        if channel.content_type == RECORDIO:
            parts = [read_recordio(f) for f in channel.files]
            if all(isinstance(X, pa.Table) for X, _ in parts):
                return _dense_records(channel, parts, n_features, rule)
        else:
            parts = [read_libsvm(f, n_features) for f in channel.files]
        for f, (X, y) in zip(channel.files, parts, strict=True):
            check_labels(y, f, rule=rule, channel=channel.name)
            check_features(X, f)
        width = max(X.shape[1] for X, _ in parts)
        matrices = [sp.csr_matrix(_csr_input(X), shape=(X.shape[0], width)) for X, _ in parts]
        X = sp.vstack(matrices, format="csr") if len(matrices) > 1 else matrices[0]
        _check_same_width(width, n_features, f"channel '{channel.name}'")
        return InMemoryData(X, np.concatenate([y for _, y in parts]), width)
    tables = []
    reference = "the training data"
    for f in channel.files:
        where = f"file {f} in channel '{channel.name}'"
        header = file_header(f, channel.content_type)
        file_names = header.feature_names
        check_same_names(file_names, names, where, reference)
        table = read_table(f, channel.content_type, header, rule, channel.name)
        _check_same_width(table.num_columns - 1, n_features, where)
        # The first file fixes the width and names for the rest of an unconstrained channel.
        if n_features is None:
            reference = f"file {f}"
        n_features = table.num_columns - 1
        names = names if names is not None else file_names
        tables.append(table)
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return InMemoryData(features_of(table), label_array(table), table.num_columns - 1, names)


def _csr_input(features):
    return _dense(features) if isinstance(features, pa.Table) else features


def _dense_records(channel: Channel, parts: list, n_features: int | None, rule: LabelRule | None) -> InMemoryData:
    """Dense RecordIO files: one Arrow table, checked file by file like CSV (row = record number)."""
    tables = []
    for f, (features, label) in zip(channel.files, parts, strict=True):
        check_labels(label, f, rule=rule, channel=channel.name)
        check_features(features, f)
        _check_same_width(features.num_columns, n_features, f"file {f} in channel '{channel.name}'")
        n_features = features.num_columns
        tables.append(features)
    features = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    label = np.concatenate([label for _, label in parts]) if len(parts) > 1 else parts[0][1]
    return InMemoryData(features, label, features.num_columns)


def _dense(features) -> np.ndarray:
    if isinstance(features, pa.Table):
        if features.num_rows == 0:
            return np.empty((0, features.num_columns), dtype=np.float32)
        out = np.empty((features.num_rows, features.num_columns), dtype=np.float32)
        for i, column in enumerate(features.columns):
            out[:, i] = pc.fill_null(column, math.nan).to_numpy()
        return out
    return np.asarray(features.toarray(), dtype=np.float32)


def read_channel_arrays(
    path: str | Path, content_type: str | None = None, channel: str = "data"
) -> tuple[np.ndarray, np.ndarray]:
    """Small data as dense arrays: ``X`` (rows x features, float32, NaN = missing) and ``y`` (float32).

    Same formats, conventions and error messages as training, so evaluation
    reads exactly what training read.
    """
    data = load_channel(open_channel(channel, Path(path), content_type))
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
