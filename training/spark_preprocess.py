"""Processing step on Spark: the channels of ``preprocess.py``, computed by a Spark cluster.

Runs in SageMaker's Spark processing image (``sagemaker-spark-processing:3.5``,
launched by its ``smspark-submit``) on one or more instances, and locally on
PySpark 3.5.0 (``--master local[2]``, or a standalone ``spark://`` master).
Same arguments, schema check, one-line errors, schema.json and drift baseline
as ``preprocess.py``; the same split, because a row's split is the same function
of its values and the seed (:mod:`smxgb.split`, Spark's own ``xxhash64`` here).
Each split is written as Parquet shards (``part-*.parquet``, label first, named
``label``), one or more per Spark task, which the training script reads as one
channel and ``ShardedByS3Key`` can spread over several training instances.

Only Spark SQL expressions run on the executors (no Python UDF), so the workers
need no Python packages; the driver uses numpy for the drift baseline, computed
from at most ``--baseline-rows`` training rows (the ones with the lowest hash: a
deterministic uniform sample; all of them when the split is smaller, which makes
the baseline identical to the single-machine step's).

Differences from ``preprocess.py`` that show: an error names the file but not
the row (Spark does not number rows), and rows inside a split come in the
cluster's order, not the input's.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import preprocess

from smxgb import report, schema
from smxgb import split as row_split
from smxgb.failure import UserError

SPLIT_COLUMN = "_split"
HASH_COLUMN = "_hash"
FILE_COLUMN = "_file"
LABEL_RAW = "_label_raw"
LABEL_VALUE = "_label"
#: What pandas.read_csv reads as missing (its default na_values), so both engines drop the same rows.
CSV_MISSING = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
#: Committer settings for a cluster without a shared file system: each task moves its own
#: files into place (algorithm 2), and no _SUCCESS marker collides when every instance uploads.
SPARK_CONF = {
    "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # No .crc files beside the shards: ShardedByS3Key deals out objects, and a checksum file counted as
    # one could leave an instance with checksums and no data.
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    # HotSpot never JIT-compiles a method over 8,000 bytes of bytecode: the generated code of the checks
    # (two or three aggregates per feature) is far bigger, so it ran interpreted, minutes for 200k rows.
    # At this limit Spark runs such a plan without whole-stage code generation instead, compiled.
    "spark.sql.codegen.hugeMethodLimit": "8000",
}


def build_parser() -> argparse.ArgumentParser:
    parser = preprocess.build_parser()
    parser.description = __doc__.splitlines()[0]
    parser.set_defaults(output_format=preprocess.PARQUET_FORMAT)
    parser.add_argument("--baseline-rows", type=int, default=200_000,
                        help="training rows the drift baseline is computed from (the driver holds them)")
    parser.add_argument("--master", help="Spark master URL; default: the one spark-submit gives")
    parser.add_argument("--shuffle-partitions", type=int, default=0,
                        help="spark.sql.shuffle.partitions; 0 keeps Spark's default")
    return parser


def session(master: str | None = None, *, app_name: str = "mlp-preprocess", shuffle_partitions: int = 0):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---------------------------------------------------------------- reading


def _header(path: Path, spark) -> list[str]:
    if preprocess.is_parquet(path):
        return list(spark.read.parquet(_uri(path)).columns)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(
            f"cannot read {path.name}: {exc}; save it as UTF-8 CSV with one header row and the same number"
            " of fields in every row, or as Parquet"
        ) from exc


def _uri(path: Path) -> str:
    # Every instance holds the inputs at the same local path (FullyReplicated), so file:// works on a cluster.
    return path.resolve().as_uri()


def read_inputs(spark, files: list[Path]):
    """One DataFrame of every input file, all columns as strings, plus the file name of each row."""
    from pyspark.sql import functions as F

    headers = [_header(path, spark) for path in files]
    for path, header in zip(files[1:], headers[1:], strict=True):
        if header != headers[0]:
            raise UserError(
                f"{path.name} has columns {header[:8]} but {files[0].name} has {headers[0][:8]};"
                " every input file must share one header"
            )
    columns = headers[0]
    frames = []
    csv_files = [_uri(p) for p in files if p.suffix.lower() in preprocess.CSV_SUFFIXES]
    parquet_files = [_uri(p) for p in files if preprocess.is_parquet(p)]
    if csv_files:
        # FAILFAST: a ragged row is an error, as in pandas, not a row silently padded with nulls.
        frame = spark.read.csv(csv_files, header=True, inferSchema=False, mode="FAILFAST", enforceSchema=False,
                               multiLine=False)
        # isin of more than 10 literals is one hash-set lookup per field (Spark's InSet).
        frame = frame.select(*[
            F.when(F.col(f"`{name}`").isin(*CSV_MISSING), None).otherwise(F.col(f"`{name}`")).alias(name)
            for name in columns
        ])
        frames.append(frame)
    if parquet_files:
        frame = spark.read.parquet(*parquet_files)
        selected = []
        for name, dtype in frame.dtypes:
            column = F.col(f"`{name}`")
            if dtype in ("double", "float"):
                column = F.when(F.isnan(column), None).otherwise(column)
            selected.append(column.cast("string").alias(name) if dtype != "string" else column.alias(name))
        frames.append(frame.select(*selected))
    frame = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    return frame.withColumn(FILE_COLUMN, F.element_at(F.split(F.input_file_name(), "/"), -1)), columns


# ---------------------------------------------------------------- checks


def _first(frame, condition, column: str):
    row = frame.filter(condition).select(column, FILE_COLUMN).first()
    return (row[0], row[1]) if row else (None, None)


def _decoded(name: str) -> str:
    from urllib.parse import unquote

    return unquote(name)


#: Features per statistics query: four aggregates each keep the generated code small enough to be
#: compiled whole (see hugeMethodLimit); 50 features in one query took 1.7x as long as five of 10.
STATISTICS_PER_QUERY = 10
#: Per-row flags of typed_features: a feature not numeric, infinite, or fractional where typed int.
FLAGS = {"bad": "_not_numeric", "inf": "_infinite", "int": "_fractional"}


def _problems(feature: schema.Feature) -> dict:
    """Each check of preprocess.numeric_features on one feature: (not numeric, infinite, fractional where
    typed int) -> a condition true on the rows that fail it, in the order the errors are raised."""
    from pyspark.sql import functions as F

    raw = F.col(f"`{feature.name}`")
    value = raw.cast("double")
    problems = {"bad": raw.isNotNull() & value.isNull(), "inf": F.abs(value) == float("inf")}
    if feature.type == schema.INT:
        problems["int"] = value != F.floor(value)
    return problems


def typed_features(frame, expected: schema.Schema):
    """The rows with their features as doubles and FLAGS: each field is parsed once, in one projection.

    -0.0 and 0.0 become one value (Spark's hash already agrees; the written value is then the same too).
    """
    from functools import reduce

    from pyspark.sql import functions as F

    def any_of(kind: str):
        conditions = [problems[kind] for problems in checks if kind in problems]
        return reduce(lambda left, right: left | right, conditions, F.lit(False))

    checks = [_problems(f) for f in expected.features]
    values = {f.name: F.col(f"`{f.name}`").cast("double") for f in expected.features}
    return frame.select(
        LABEL_RAW, FILE_COLUMN,
        *[F.when(value == 0.0, F.lit(0.0)).otherwise(value).alias(name) for name, value in values.items()],
        *[any_of(kind).alias(flag) for kind, flag in FLAGS.items()],
    )


def refuse_bad_features(frame, expected: schema.Schema) -> None:
    """preprocess.numeric_features' error for the first feature (in column order) a check fails.

    Runs only when a flag of typed_features is set, so it may read the input again.
    """
    from pyspark.sql import functions as F

    checks = {f.name: _problems(f) for f in expected.features}
    counts = frame.agg(*[F.sum(F.when(condition, 1).otherwise(0)).alias(f"{kind}:{name}")
                         for name, problems in checks.items() for kind, condition in problems.items()]
                       ).first().asDict()
    for name, problems in checks.items():
        if counts[f"bad:{name}"]:
            example, where = _first(frame, problems["bad"], f"`{name}`")
            raise UserError(
                f"feature column {name!r} is not numeric (value {example!r} in {_decoded(where)});"
                " encode it as numbers before this step or drop it (--drop-columns)"
            )
        if counts[f"inf:{name}"]:
            example, where = _first(frame, problems["inf"], f"`{name}`")
            raise UserError(
                f"feature column {name!r} has an infinite or too large value ({example!r} in"
                f" {_decoded(where)}); replace it with a finite number or leave the field empty (missing)"
            )
        if counts.get(f"int:{name}"):
            value = F.col(f"`{name}`").cast("double")
            example = frame.filter(problems["int"]).select(value).first()[0]
            raise UserError(
                f"feature column {name!r} is typed int in the schema but holds"
                f" {preprocess._plain(example)!r}; fix the data or type it float"
            )


def _label_key(column):
    """preprocess._label_key in Spark: an integral number as its integer text, anything else as written."""
    from pyspark.sql import functions as F

    value = F.trim(column).cast("double")
    integral = value.isNotNull() & (value == F.floor(value)) & (F.abs(value) < 2 ** 53)
    return F.when(integral, value.cast("long").cast("string")).otherwise(column)


def encode_labels(frame, expected: schema.Schema):
    """(frame with a numeric LABEL_VALUE column, problem type, classes): preprocess.encode_labels in Spark."""
    from pyspark.sql import functions as F

    name, problem_type = expected.label, expected.problem_type
    raw = F.col(LABEL_RAW)
    if expected.classes is not None:
        if problem_type == schema.REGRESSION:
            raise UserError(f"label {name!r} lists classes but problem_type is regression; drop one of them")
        index = {preprocess._label_key(value): position for position, value in enumerate(expected.classes)}
        keyed = frame.withColumn("_key", _label_key(raw))
        unknown = [r[0] for r in keyed.filter(~F.col("_key").isin(list(index))).select("_key").distinct()
                   .orderBy("_key").limit(5).collect()]
        if unknown:
            raise UserError(
                f"label column {name!r} has values {unknown[:5]} not in the schema's classes"
                f" {expected.classes}; add them to label.classes or fix the data"
            )
        resolved = problem_type if problem_type != "auto" else (
            schema.BINARY if len(expected.classes) == 2 else schema.MULTICLASS)
        if resolved == schema.BINARY and len(expected.classes) != 2:
            raise UserError(f"binary_classification needs exactly 2 classes, the schema lists {expected.classes}")
        mapping = F.create_map(*[item for key, pos in index.items() for item in (F.lit(key), F.lit(pos))])
        encoded = keyed.withColumn(LABEL_VALUE, mapping[F.col("_key")].cast("long")).drop("_key")
        return encoded, resolved, list(expected.classes)

    value = F.trim(raw).cast("double")
    stats = frame.agg(
        F.sum(F.when(value.isNull(), 1).otherwise(0)).alias("bad"),
        F.sum(F.when(F.abs(value) == float("inf"), 1).otherwise(0)).alias("inf"),
        F.sum(F.when(~value.isin(0.0, 1.0), 1).otherwise(0)).alias("not01"),
        F.sum(F.when(value != F.floor(value), 1).otherwise(0)).alias("fractional"),
        F.min(value).alias("min"), F.max(value).alias("max"),
    ).first()
    if stats["bad"]:
        examples = sorted(r[0] for r in frame.filter(value.isNull()).select(LABEL_RAW).distinct()
                          .orderBy(LABEL_RAW).limit(5).collect())
        raise UserError(
            f"label column {name!r} has non-numeric values {examples}; list the label values in the"
            f' schema\'s label.classes (e.g. "classes": {examples}) to map them to 0..k-1'
        )
    if stats["inf"]:
        example, where = _first(frame, F.abs(value) == float("inf"), LABEL_RAW)
        raise UserError(
            f"label column {name!r} has an infinite value ({example!r} in {_decoded(where)}); fix or drop that row"
        )
    if problem_type == "auto":
        problem_type = schema.BINARY if not stats["not01"] else schema.REGRESSION
    if problem_type == schema.REGRESSION:
        return frame.withColumn(LABEL_VALUE, value), problem_type, None

    def distinct(condition) -> list:
        rows = frame.select(value.alias("v")).filter(condition).distinct().orderBy("v").limit(5).collect()
        return [preprocess._plain(r[0]) for r in rows]

    if problem_type == schema.BINARY and stats["not01"]:
        raise UserError(
            f"label column {name!r} has values {distinct(~value.isin(0.0, 1.0))} outside {{0, 1}} for"
            " binary_classification; map them to 0/1 or list them in the schema's label.classes"
        )
    if problem_type == schema.MULTICLASS and (stats["fractional"] or stats["min"] < 0):
        raise UserError(
            f"label column {name!r} must hold class indices 0..k-1 for multiclass_classification, got"
            f" {distinct(F.lit(True))}; list the label values in the schema's label.classes"
        )
    num_classes = 2 if problem_type == schema.BINARY else int(stats["max"]) + 1
    return frame.withColumn(LABEL_VALUE, value.cast("long")), problem_type, list(range(num_classes))


# ---------------------------------------------------------------- the step


def assign_splits(frame, seed: int, feature_names: list[str], fractions: tuple[float, float, float]):
    """SPLIT_COLUMN (0 train, 1 validation, 2 test) and HASH_COLUMN: smxgb.split with Spark's xxhash64."""
    from pyspark.sql import functions as F

    hashed = F.xxhash64(F.lit(seed).cast("long"), F.col(LABEL_VALUE).cast("double"),
                        *[F.col(f"`{name}`") for name in feature_names])
    train_cut, validation_cut = row_split.cuts(fractions)
    bucket = F.pmod(F.col(HASH_COLUMN), F.lit(row_split.BUCKETS))
    split = F.when(bucket < train_cut, 0).when(bucket < validation_cut, 1).otherwise(2)
    return frame.withColumn(HASH_COLUMN, hashed).withColumn(SPLIT_COLUMN, split)


def write_split(frame, directory: Path, label_name: str, feature_names: list[str], output_format: str,
                shards: int = 1) -> None:
    from pyspark.sql import functions as F

    name = preprocess.PARQUET_LABEL_COLUMN if output_format == preprocess.PARQUET_FORMAT else label_name
    columns = [F.col(LABEL_VALUE).alias(name), *[F.col(f"`{n}`") for n in feature_names]]
    selected = frame.select(*columns)
    if shards > 1:
        # Round-robin: exactly `shards` non-empty part files (the split has at least that many rows), one per
        # training instance under ShardedByS3Key. With one, Spark's own partitions stand.
        selected = selected.repartition(shards)
    writer = selected.write.mode("overwrite")
    if output_format == preprocess.PARQUET_FORMAT:
        writer.parquet(_uri(directory))
    else:
        writer.option("header", "false").option("emptyValue", "").csv(_uri(directory))


def preprocess_spark(args: argparse.Namespace, spark=None) -> schema.Schema:
    from pyspark.sql import functions as F

    if args.output_format == preprocess.RECORDIO_FORMAT:
        # Framing records needs Python on the executors, and this step runs Spark SQL only.
        raise UserError("the Spark step writes Parquet or CSV shards, not RecordIO-protobuf; use --output-format"
                        " parquet, or the pandas engine (preprocess.py) for RecordIO channels")
    if args.baseline_rows < 1:
        raise UserError(f"--baseline-rows {args.baseline_rows} must be at least 1; the drift baseline needs rows")
    files = preprocess.input_files(args.input_dir)
    spark = spark or session(args.master, shuffle_partitions=args.shuffle_partitions)
    frame, columns = read_inputs(spark, files)
    expected = preprocess.resolve_schema(args, columns)
    if args.output_format == preprocess.PARQUET_FORMAT and preprocess.PARQUET_LABEL_COLUMN in expected.feature_names:
        raise UserError(
            f"feature column {preprocess.PARQUET_LABEL_COLUMN!r} would be taken for the label in a Parquet channel;"
            " rename it in the data or use --output-format csv"
        )
    fractions = (args.train_fraction, args.validation_fraction, args.test_fraction)
    preprocess.check_fractions(fractions)
    names = ", ".join(path.name for path in files)
    frame = frame.select(F.col(f"`{expected.label}`").alias(LABEL_RAW), FILE_COLUMN,
                         *[F.col(f"`{n}`") for n in expected.feature_names])
    try:
        return _preprocess(args, spark, frame, expected, fractions)
    except Exception as exc:
        # The CSV reader fails a ragged row (FAILFAST) in whichever job first parses it.
        if "MALFORMED" not in str(exc).upper() or isinstance(exc, UserError):
            raise
        raise UserError(
            f"cannot read the input ({names}): {_spark_reason(exc)}; save it as UTF-8 CSV with one header row"
            " and the same number of fields in every row, or as Parquet"
        ) from exc


def _preprocess(args, spark, frame, expected: schema.Schema, fractions) -> schema.Schema:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    names = ", ".join(path.name for path in preprocess.input_files(args.input_dir))
    labelled = F.col(LABEL_RAW).isNotNull()
    # The input is parsed once: its typed rows are kept (in memory, spilling to disk) by the first pass,
    # which counts the rows and the checks' failures; the label checks, statistics and writes read them.
    kept = typed_features(frame, expected).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        failures = [F.sum(F.when(labelled & F.col(flag), 1).otherwise(0)).alias(flag) for flag in FLAGS.values()]
        counts = kept.agg(F.count(F.lit(1)).alias("read"), F.count(LABEL_RAW).alias("labelled"), *failures
                          ).first().asDict()
        rows_read = counts["read"]
        if rows_read == 0:
            raise UserError(f"the input files ({names}) have a header but no data rows; upload the data rows")
        if counts["labelled"] == 0:
            raise UserError(
                f"every row of {names} has an empty label column {expected.label!r}; fill the labels or point"
                " --label-column at the column that holds them"
            )
        if any(counts[flag] for flag in FLAGS.values()):
            refuse_bad_features(frame.filter(labelled), expected)
        typed = kept.filter(labelled).drop(*FLAGS.values())
        if args.missing == preprocess.MISSING_DROP:
            typed = typed.dropna(subset=expected.feature_names)
        frame, problem_type, classes = encode_labels(typed, expected)
        frame = assign_splits(frame, args.seed, expected.feature_names, fractions)
        frame = frame.select(SPLIT_COLUMN, HASH_COLUMN, LABEL_VALUE,
                             *[F.col(f"`{n}`") for n in expected.feature_names])
        return _write(args, spark, frame, expected, problem_type, classes, rows_read, fractions)
    finally:
        kept.unpersist()


def _write(args, spark, frame, expected, problem_type, classes, rows_read, fractions) -> schema.Schema:
    from pyspark.sql import functions as F

    features = expected.feature_names
    by_split: dict[int, dict] = {}
    for start in range(0, max(len(features), 1), STATISTICS_PER_QUERY):
        aggregates = [F.count(F.lit(1)).alias("rows")]
        for name in features[start:start + STATISTICS_PER_QUERY]:
            column = F.col(f"`{name}`")
            aggregates += [F.min(column).alias(f"min:{name}"), F.max(column).alias(f"max:{name}"),
                           F.mean(column).alias(f"mean:{name}"), F.count(column).alias(f"present:{name}")]
        for row in frame.groupBy(SPLIT_COLUMN).agg(*aggregates).collect():
            by_split.setdefault(row[SPLIT_COLUMN], {}).update(row.asDict())
    sizes = {name: by_split.get(index, {}).get("rows", 0) for index, name in enumerate(preprocess.SPLITS)}
    usable = sum(sizes.values())
    if usable == 0:
        raise UserError(
            f"no rows left after dropping rows with missing feature values (--missing {args.missing});"
            " fill the gaps, drop the sparse columns (--drop-columns) or use --missing keep"
        )
    preprocess.check_split_sizes(usable, sizes, fractions)
    preprocess.check_shards(args.shards, sizes)
    for index, name in enumerate(preprocess.SPLITS):
        if sizes[name]:
            write_split(frame.filter(F.col(SPLIT_COLUMN) == index), getattr(args, f"{name}_dir"), expected.label,
                        features, args.output_format, args.shards)

    train = by_split[0]
    written = schema.Schema(
        expected.label,
        problem_type,
        [schema.Feature(f.name, f.type, _statistics(train, f.name)) for f in expected.features],
        classes,
        extra={
            "content_type": "application/x-parquet" if args.output_format == preprocess.PARQUET_FORMAT
            else "text/csv",
            "missing_policy": args.missing,
            "rows": {"read": rows_read, "dropped": rows_read - usable, **sizes},
            "seed": args.seed,
        },
    )
    written.write(args.schema_dir)
    import numpy as np

    from smxgb import drift

    sample = (frame.filter(F.col(SPLIT_COLUMN) == 0).orderBy(HASH_COLUMN, *[F.col(f"`{n}`") for n in features])
              .limit(args.baseline_rows).select(*[F.col(f"`{n}`") for n in features]).collect())
    matrix = np.array([[math.nan if v is None else v for v in row] for row in sample], dtype=np.float64)
    drift.build_baseline(matrix, features).write(args.schema_dir / report.DRIFT_BASELINE_FILE_NAME)
    print(f"spark_preprocess: {rows_read} rows read, {dict(written.extra['rows'])}, problem type {problem_type},"
          f" {spark.sparkContext.defaultParallelism} cores")
    return written


def _statistics(row: dict, name: str) -> dict:
    """schema.feature_statistics from Spark's aggregates (exact min/max/count; the mean summed in another order)."""
    present, rows = row[f"present:{name}"], row["rows"]
    missing = 1.0 - present / rows if rows else 0.0

    def clean(number) -> float | None:
        return None if number is None or not math.isfinite(number) else round(float(number), 12)

    if present == 0:
        return {"max": None, "mean": None, "min": None, "missing_fraction": missing}
    return {"max": clean(row[f"max:{name}"]), "mean": clean(row[f"mean:{name}"]), "min": clean(row[f"min:{name}"]),
            "missing_fraction": round(missing, 12)}


def _spark_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    for marker in ("Malformed records are detected", "Caused by:", "Exception:"):
        if marker in text:
            text = text[text.index(marker):]
            break
    return text[:300]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    report.run_processing_main(lambda: preprocess_spark(build_parser().parse_args(argv)),
                               failure_dir=report.failure_dir_from_argv(argv))


if __name__ == "__main__":
    main()
