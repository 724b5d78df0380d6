"""Processing step: raw tabular files -> train/validation/test channels + schema.json.

Input: every ``*.csv`` (with a header) and ``*.parquet`` file directly under
``--input-dir``, read in name order and concatenated (all must share columns).
Output: one file per split, label first, no header, in the SageMaker built-in
convention (``--output-format``: ``csv``, the default, ``parquet`` or ``recordio``,
SageMaker's RecordIO-protobuf with float32 features and label), plus ``schema.json``
under ``--schema-dir`` (features, label classes, training-split statistics) and
``drift-baseline.json`` (the training split's per-feature baseline, :mod:`smxgb.drift`).

Missing values (empty fields, NA, NaN): ``--missing drop`` (default) drops every
row with a missing feature; ``--missing keep`` keeps them as XGBoost missing
values (empty CSV fields). Rows without a label are always dropped.

The split is a function of each row: a hash of its values (label and features,
as numbers) and ``--seed`` puts it in train, validation or test
(:mod:`smxgb.split`), the same function the Spark step applies, so both engines
split the same input the same way. Rows keep their input order within a split;
the same input files and seed give byte-identical outputs. Split sizes follow
the fractions statistically (a row's draw is independent of the others), not
exactly.

``--shards N`` (default 1) writes each split as N files of consecutive rows
(``train-part-00000.csv`` ...): with N training instances and
``ShardedByS3Key`` channels, each instance gets one file of each split.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from smxgb import env, report, schema
from smxgb import split as row_split
from smxgb.failure import UserError

SPLITS = ("train", "validation", "test")
CSV_FORMAT = "csv"
PARQUET_FORMAT = "parquet"
RECORDIO_FORMAT = "recordio"
OUTPUT_FORMATS = (CSV_FORMAT, PARQUET_FORMAT, RECORDIO_FORMAT)
#: The channels' content type per output format, as the training job's ContentType names it.
CONTENT_TYPES = {CSV_FORMAT: "text/csv", PARQUET_FORMAT: "application/x-parquet",
                 RECORDIO_FORMAT: "application/x-recordio-protobuf"}
MISSING_DROP = "drop"
MISSING_KEEP = "keep"
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_LABEL_COLUMN = "label"


def build_parser() -> argparse.ArgumentParser:
    root = env.processing_root()
    parser = report.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=root / "input")
    for split in SPLITS:
        parser.add_argument(f"--{split}-dir", type=Path, default=root / split)
    parser.add_argument("--schema-dir", type=Path, default=root / "schema")
    parser.add_argument("--failure-dir", type=Path, default=report.default_failure_dir())
    parser.add_argument("--schema-file", type=Path, help="expected schema (see smxgb/schema.py)")
    parser.add_argument("--label-column", default="label", help="ignored when --schema-file is given")
    parser.add_argument("--problem-type", default="auto", help="auto (0/1 labels: binary, else regression), "
                        + ", ".join(schema.PROBLEM_TYPES))
    parser.add_argument("--feature-columns", help="comma-separated; default: every column but the label")
    parser.add_argument("--drop-columns", default="", help="comma-separated columns to ignore")
    parser.add_argument("--train-fraction", type=float, default=0.7)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--missing", choices=(MISSING_DROP, MISSING_KEEP), default=MISSING_DROP)
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, default=CSV_FORMAT)
    parser.add_argument("--shards", type=int, default=1,
                        help="files per split: one per training instance reading it ShardedByS3Key")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# ---------------------------------------------------------------- reading


#: Every Parquet file starts with these bytes.
PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    """A ``.parquet``/``.pq`` file, or a file without a suffix that starts as Parquet does: Athena names the
    Parquet result of a query (an ``AthenaDatasetDefinition``) without a suffix."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    if path.suffix:
        return False
    with path.open("rb") as stream:
        return stream.read(4) == PARQUET_MAGIC


def input_files(input_dir: Path) -> list[Path]:
    if not input_dir.is_dir():
        raise UserError(f"input directory {input_dir} does not exist; map the raw data ProcessingInput there")
    files = sorted(
        path for path in input_dir.iterdir()
        if path.is_file() and not path.name.startswith(".")
        and (path.suffix.lower() in CSV_SUFFIXES or is_parquet(path))
    )
    if not files:
        raise UserError(f"no .csv or .parquet files in {input_dir}; check the ProcessingInput S3 prefix")
    return files


def read_inputs(files: list[Path]) -> pd.DataFrame:
    frames = []
    for path in files:
        try:
            if is_parquet(path):
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path, low_memory=False)
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            raise UserError(
                f"cannot read {path.name}: {' '.join(str(exc).split())[:300]}; save it as UTF-8 CSV with one header "
                "row and the same number of fields in every row, or as Parquet"
            ) from exc
        if frames and list(frame.columns) != list(frames[0].columns):
            raise UserError(
                f"{path.name} has columns {list(frame.columns)[:8]} but {files[0].name} has"
                f" {list(frames[0].columns)[:8]}; every input file must share one header"
            )
        frame.index = pd.MultiIndex.from_product([[path.name], range(1, len(frame) + 1)])
        frames.append(frame)
    return pd.concat(frames)


# ---------------------------------------------------------------- schema


def resolve_schema(args: argparse.Namespace, columns: list[str]) -> schema.Schema:
    if args.schema_file:
        expected = schema.load(args.schema_file)
    else:
        dropped = {name.strip() for name in args.drop_columns.split(",") if name.strip()}
        if args.feature_columns:
            names = [name.strip() for name in args.feature_columns.split(",") if name.strip()]
        else:
            names = [name for name in columns if name != args.label_column and name not in dropped]
        schema.check_problem_type(args.problem_type, allow_auto=True, source="--problem-type")
        if not names:
            raise UserError(f"no feature columns left besides the label {args.label_column!r}")
        expected = schema.Schema(args.label_column, args.problem_type, [schema.Feature(n) for n in names])
    missing = [name for name in [expected.label, *expected.feature_names] if name not in columns]
    if missing:
        what = "label column" if missing[0] == expected.label else "feature column"
        raise UserError(
            f"{what} {missing[0]!r} is missing from the input (columns: {columns[:10]});"
            " fix the column name in the schema/--label-column/--feature-columns or the data"
        )
    return expected


def numeric_features(frame: pd.DataFrame, expected: schema.Schema) -> pd.DataFrame:
    columns = {}
    for feature in expected.features:
        raw = frame[feature.name]
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = raw.notna() & values.isna()
        if bad.any():
            file_name, row = bad[bad].index[0]
            raise UserError(
                f"feature column {feature.name!r} is not numeric (value {raw[bad].iloc[0]!r} in row {row} of"
                f" {file_name}); encode it as numbers before this step or drop it (--drop-columns)"
            )
        infinite = np.isinf(values)
        if infinite.any():
            file_name, row = infinite[infinite].index[0]
            raise UserError(
                f"feature column {feature.name!r} has an infinite or too large value ({str(raw[infinite].iloc[0])!r} in"
                f" row {row} of {file_name}); replace it with a finite number or leave the field empty (missing)"
            )
        if feature.type == schema.INT:
            present = values.dropna()
            if not (present == np.round(present)).all():
                raise UserError(
                    f"feature column {feature.name!r} is typed int in the schema but holds"
                    f" {_plain(present[present != np.round(present)].iloc[0])!r}; fix the data or type it float"
                )
        columns[feature.name] = values
    return pd.DataFrame(columns, index=frame.index)


def encode_labels(raw: pd.Series, expected: schema.Schema) -> tuple[np.ndarray, str, list | None]:
    """Labels as XGBoost wants them, the resolved problem type and the class list."""
    name, problem_type = expected.label, expected.problem_type
    if expected.classes is not None:
        if problem_type == schema.REGRESSION:
            raise UserError(f"label {name!r} lists classes but problem_type is regression; drop one of them")
        index = {_label_key(value): position for position, value in enumerate(expected.classes)}
        keys = raw.map(_label_key)
        unknown = sorted(set(keys) - set(index))
        if unknown:
            raise UserError(
                f"label column {name!r} has values {unknown[:5]} not in the schema's classes"
                f" {expected.classes}; add them to label.classes or fix the data"
            )
        resolved = problem_type if problem_type != "auto" else (
            schema.BINARY if len(expected.classes) == 2 else schema.MULTICLASS)
        if resolved == schema.BINARY and len(expected.classes) != 2:
            raise UserError(f"binary_classification needs exactly 2 classes, the schema lists {expected.classes}")
        return keys.map(index).to_numpy(np.int64), resolved, list(expected.classes)

    values = pd.to_numeric(raw, errors="coerce")
    if values.isna().any():
        examples = sorted(set(map(str, raw[values.isna()].unique())))[:5]
        raise UserError(
            f"label column {name!r} has non-numeric values {examples}; list the label values in the"
            f' schema\'s label.classes (e.g. "classes": {examples}) to map them to 0..k-1'
        )
    infinite = np.isinf(values)
    if infinite.any():
        file_name, row = infinite[infinite].index[0] if isinstance(raw.index, pd.MultiIndex) else ("the input", "?")
        raise UserError(
            f"label column {name!r} has an infinite value ({str(raw[infinite].iloc[0])!r} in row {row} of {file_name});"
            " fix or drop that row"
        )
    values = values.to_numpy(np.float64)
    distinct = np.unique(values)
    if problem_type == "auto":
        problem_type = schema.BINARY if set(distinct) <= {0.0, 1.0} else schema.REGRESSION
    if problem_type == schema.REGRESSION:
        return values, problem_type, None
    integral = bool(np.all(distinct == np.round(distinct))) and distinct.min() >= 0
    if problem_type == schema.BINARY and not set(distinct) <= {0.0, 1.0}:
        outside = [_plain(v) for v in distinct if v not in (0.0, 1.0)][:5]
        raise UserError(
            f"label column {name!r} has values {outside} outside {{0, 1}} for binary_classification;"
            " map them to 0/1 or list them in the schema's label.classes"
        )
    if problem_type == schema.MULTICLASS and not integral:
        raise UserError(
            f"label column {name!r} must hold class indices 0..k-1 for multiclass_classification, got"
            f" {[_plain(v) for v in distinct[:5]]}; list the label values in the schema's label.classes"
        )
    num_classes = 2 if problem_type == schema.BINARY else int(distinct.max()) + 1
    return values.astype(np.int64), problem_type, list(range(num_classes))


def _label_key(value) -> str:
    # CSV reads 1, Parquet may hold 1.0 and a schema file says "1": one class, one key.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _plain(value: float):
    return int(value) if float(value).is_integer() else float(value)


# ---------------------------------------------------------------- splitting and writing


def check_fractions(fractions: tuple[float, float, float]) -> None:
    if any(f < 0 for f in fractions) or fractions[0] <= 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise UserError(
            f"split fractions {fractions} must be non-negative with a positive train fraction and sum to 1;"
            " fix --train-fraction/--validation-fraction/--test-fraction"
        )


def check_split_sizes(rows: int, sizes: dict[str, int], fractions: tuple[float, float, float]) -> None:
    empty = [split for split, f in zip(SPLITS, fractions, strict=True) if f > 0 and sizes[split] == 0]
    if empty:
        raise UserError(
            f"{rows} usable rows leave the {empty[0]} split empty; supply more data or set its fraction to 0"
        )


def split_rows(seed: int, labels: np.ndarray, features: pd.DataFrame,
               fractions: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Row positions of each split, in input order: a function of each row's values and the seed (smxgb.split)."""
    check_fractions(fractions)
    assigned = row_split.assign(row_split.row_hashes(seed, labels, features.to_numpy(np.float64)), fractions)
    rows = {name: np.flatnonzero(assigned == index) for index, name in enumerate(SPLITS)}
    check_split_sizes(len(labels), {name: len(positions) for name, positions in rows.items()}, fractions)
    return rows


def write_split(directory: Path, split: str, labels: np.ndarray, features: pd.DataFrame,
                label_name: str, output_format: str, *, shards: int = 1) -> list[Path]:
    """The split as one file, or as ``shards`` files of consecutive rows named so that key order is row order."""
    directory.mkdir(parents=True, exist_ok=True)
    # Parquet channels find the label by the name "label" (else the first column), so use that name.
    name = PARQUET_LABEL_COLUMN if output_format == PARQUET_FORMAT else label_name
    frame = pd.concat([pd.Series(labels, name=name, index=features.index), features], axis=1)
    frame = frame.reset_index(drop=True)
    extension = "recordio" if output_format == RECORDIO_FORMAT else output_format
    if shards == 1:
        return [_write_file(directory / f"{split}.{extension}", frame, output_format)]
    return [_write_file(directory / f"{split}-part-{index:05d}.{extension}", frame.iloc[rows], output_format)
            for index, rows in enumerate(np.array_split(np.arange(len(frame)), shards))]


def _write_file(target: Path, frame: pd.DataFrame, output_format: str) -> Path:
    if output_format == PARQUET_FORMAT:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)
    elif output_format == RECORDIO_FORMAT:
        from smxgb import recordio

        with open(target, "wb") as handle:
            recordio.write_dense(handle, frame.iloc[:, 1:].to_numpy(np.float32), frame.iloc[:, 0].to_numpy(np.float32))
    else:
        frame.to_csv(target, header=False, index=False, na_rep="", lineterminator="\n")
    return target


def check_shards(shards: int, sizes: dict[str, int]) -> None:
    """Every written split must fill every shard: an instance given an empty channel cannot train."""
    if shards < 1:
        raise UserError(f"--shards {shards} must be at least 1 (one file per training instance)")
    short = [(split, rows) for split, rows in sizes.items() if 0 < rows < shards]
    if short:
        split, rows = short[0]
        raise UserError(
            f"the {split} split has {rows} rows, fewer than --shards {shards} (one file per training instance);"
            " supply more data or train on fewer instances (TrainingInstanceCount)"
        )


def preprocess(args: argparse.Namespace) -> schema.Schema:
    files = input_files(args.input_dir)
    frame = read_inputs(files)
    expected = resolve_schema(args, list(frame.columns))
    rows_read = len(frame)
    if args.output_format == PARQUET_FORMAT and PARQUET_LABEL_COLUMN in expected.feature_names:
        raise UserError(
            f"feature column {PARQUET_LABEL_COLUMN!r} would be taken for the label in a Parquet channel;"
            " rename it in the data or use --output-format csv"
        )

    names = ", ".join(path.name for path in files)
    if rows_read == 0:
        raise UserError(f"the input files ({names}) have a header but no data rows; upload the data rows")
    frame = frame[frame[expected.label].notna()]
    if frame.empty:
        raise UserError(
            f"every row of {names} has an empty label column {expected.label!r}; fill the labels or point"
            " --label-column at the column that holds them"
        )
    features = numeric_features(frame, expected)
    if args.missing == MISSING_DROP:
        complete = features.notna().all(axis=1).to_numpy()
        frame, features = frame[complete], features[complete]
        if frame.empty:
            raise UserError(
                f"no rows left after dropping rows with missing feature values (--missing {args.missing});"
                " fill the gaps, drop the sparse columns (--drop-columns) or use --missing keep"
            )
    labels, problem_type, classes = encode_labels(frame[expected.label], expected)

    fractions = (args.train_fraction, args.validation_fraction, args.test_fraction)
    positions = split_rows(args.seed, labels, features, fractions)
    check_shards(args.shards, {name: len(rows) for name, rows in positions.items()})
    for name, rows in positions.items():
        if len(rows):
            directory = getattr(args, f"{name}_dir")
            write_split(directory, name, labels[rows], features.iloc[rows], expected.label, args.output_format,
                        shards=args.shards)

    train = features.iloc[positions["train"]]
    written = schema.Schema(
        expected.label,
        problem_type,
        [schema.Feature(f.name, f.type, schema.feature_statistics(train[f.name])) for f in expected.features],
        classes,
        extra={
            "content_type": CONTENT_TYPES[args.output_format],
            "missing_policy": args.missing,
            "rows": {"read": rows_read, "dropped": rows_read - len(labels),
                     **{name: len(rows) for name, rows in positions.items()}},
            "seed": args.seed,
        },
    )
    written.write(args.schema_dir)
    # Next to the schema, so the pipeline registers it with the model version as its drift baseline.
    from smxgb import drift

    baseline = drift.build_baseline(train.to_numpy(dtype=np.float64), [f.name for f in expected.features])
    baseline.write(args.schema_dir / report.DRIFT_BASELINE_FILE_NAME)
    print(f"preprocess: {rows_read} rows read, {dict(written.extra['rows'])}, problem type {problem_type}")
    return written


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # The failure directory must be known before the remaining arguments can be trusted.
    failure_dir = report.failure_dir_from_argv(argv)
    report.run_processing_main(lambda: preprocess(parse_args(argv)), failure_dir=failure_dir)


if __name__ == "__main__":
    main()
