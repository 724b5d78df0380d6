"""The Spark preprocessing step on real PySpark (local mode, one shared session): same split, same
schema report and the same one-line errors as the single-machine step, on the same input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import preprocess
import pytest
import spark_preprocess
from sklearn.datasets import load_breast_cancer

from smxgb import split
from smxgb.data import read_channel_arrays
from smxgb.failure import UserError


@pytest.fixture(scope="module")
def cancer_frame() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def _args(module, root: Path, *extra: str):
    parser = module.build_parser()
    return parser.parse_args([
        "--input-dir", str(root / "input"), "--train-dir", str(root / "train"),
        "--validation-dir", str(root / "validation"), "--test-dir", str(root / "test"),
        "--schema-dir", str(root / "schema"), "--failure-dir", str(root / "output"), *extra,
    ])


def _write_inputs(root: Path, frame: pd.DataFrame, parts: int = 1, fmt: str = "csv") -> None:
    (root / "input").mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        chunk = frame.iloc[part]
        if fmt == "csv":
            chunk.to_csv(root / "input" / f"part-{index}.csv", index=False)
        else:
            chunk.to_parquet(root / "input" / f"part-{index}.parquet", index=False)


def _rows(root: Path) -> dict[str, np.ndarray]:
    """Each split's rows (label first), sorted, as XGBoost reads them."""
    out = {}
    for name in preprocess.SPLITS:
        features, labels = read_channel_arrays(root / name)
        rows = np.column_stack([labels, features])
        out[name] = rows[np.lexsort(rows.T[::-1])]
    return out


def test_numpy_hash_is_sparks_xxhash64(spark):
    """GIVEN rows with negative zero, missing values, huge and tiny numbers WHEN hashed by smxgb.split and by
    Spark's xxhash64 THEN every hash is equal."""
    from pyspark.sql import functions as F

    rng = np.random.default_rng(5)
    features = rng.normal(size=(500, 3)) * 10.0 ** rng.integers(-300, 300, size=(500, 3))
    features[0, 0], features[1, 1], features[2, 2], features[3, :] = -0.0, np.nan, 5e-324, np.nan
    labels = rng.integers(0, 3, 500).astype(np.float64)
    rows = [(float(label), *[None if np.isnan(v) else float(v) for v in row])
            for label, row in zip(labels, features, strict=True)]
    frame = spark.createDataFrame(rows, "label double, a double, b double, c double")
    for seed in (0, 42, -7):
        got = [r[0] for r in frame.select(F.xxhash64(F.lit(seed).cast("long"), "label", "a", "b", "c")).collect()]
        np.testing.assert_array_equal(np.array(got), split.row_hashes(seed, labels, features))


@pytest.mark.parametrize("fmt", ["csv", pytest.param("parquet", marks=pytest.mark.slow)])
def test_both_engines_split_the_same_input_identically(tmp_path, cancer_frame, spark, fmt):
    """GIVEN breast cancer in 3 files WHEN preprocessed by pandas and by Spark into 2 shards per split (two
    training instances) THEN every split holds the same rows, schema.json agrees (statistics to 1e-9) and the
    drift baselines agree."""
    _write_inputs(tmp_path / "single", cancer_frame, parts=3, fmt=fmt)
    _write_inputs(tmp_path / "spark", cancer_frame.sample(frac=1.0, random_state=1), parts=2, fmt=fmt)
    single = preprocess.preprocess(_args(preprocess, tmp_path / "single", "--label-column", "target",
                                         "--output-format", "parquet", "--seed", "11", "--shards", "2"))
    sparked = spark_preprocess.preprocess_spark(
        _args(spark_preprocess, tmp_path / "spark", "--label-column", "target", "--seed", "11", "--shards", "2"),
        spark)

    expected, got = _rows(tmp_path / "single"), _rows(tmp_path / "spark")
    for name in preprocess.SPLITS:
        np.testing.assert_array_equal(got[name], expected[name])
    assert sparked.extra == single.extra
    assert (sparked.label, sparked.problem_type, sparked.classes) == (single.label, single.problem_type, single.classes)
    for mine, theirs in zip(sparked.features, single.features, strict=True):
        assert mine.name == theirs.name
        assert mine.statistics == pytest.approx(theirs.statistics, rel=1e-9)
    # Each engine writes exactly one file per instance and split (ShardedByS3Key deals out objects, so no
    # checksum or marker files beside them), each readable alone.
    for name in preprocess.SPLITS:
        assert [p.name for p in sorted((tmp_path / "single" / name).iterdir())] == [
            f"{name}-part-00000.parquet", f"{name}-part-00001.parquet"]
        written = sorted(p.name for p in (tmp_path / "spark" / name).iterdir())
        assert len(written) == 2 and all(n.startswith("part-") and n.endswith(".parquet") for n in written)
    baselines = [json.loads((tmp_path / run / "schema" / "drift-baseline.json").read_text())["features"]
                 for run in ("single", "spark")]
    for mine, theirs in zip(*baselines, strict=True):
        assert (mine["edges"], mine["counts"], mine["rows"]) == (theirs["edges"], theirs["counts"], theirs["rows"])
        assert mine["mean"] == pytest.approx(theirs["mean"], rel=1e-12)


@pytest.mark.slow
def test_missing_values_and_a_regression_label_match_too(tmp_path, spark):
    """GIVEN gaps in features (kept) and a float label WHEN both engines run THEN the splits hold the same rows."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    frame.loc[rng.choice(300, 30), "b"] = np.nan
    frame.insert(0, "y", rng.normal(size=300))
    for run in ("single", "spark"):
        _write_inputs(tmp_path / run, frame, parts=2)
    extra = ("--label-column", "y", "--missing", "keep", "--output-format", "parquet")
    preprocess.preprocess(_args(preprocess, tmp_path / "single", *extra))
    written = spark_preprocess.preprocess_spark(_args(spark_preprocess, tmp_path / "spark", *extra), spark)
    assert written.problem_type == "regression"
    expected, got = _rows(tmp_path / "single"), _rows(tmp_path / "spark")
    for name in preprocess.SPLITS:
        np.testing.assert_array_equal(got[name], expected[name])


BAD_INPUTS = [
    (lambda f: f, ("--label-column", "diagnosis"), r"^label column 'diagnosis' is missing"),
    (lambda f: f.assign(**{"mean area": f["mean area"].astype(object).where(f.index != 3, "12,5 mm")}), (),
     r"^feature column 'mean area' is not numeric \(value '12,5 mm' in (row 4 of )?part-0.csv\); encode it"),
    (lambda f: f.assign(target=f["target"] * 2), ("--problem-type", "binary_classification"),
     r"^label column 'target' has values \[2\] outside \{0, 1\} for binary_classification"),
    (lambda f: f.assign(target=f["target"].map({0: "M", 1: "B"})), (),
     r"^label column 'target' has non-numeric values \['B', 'M'\]; list the label values .*classes"),
    (lambda f: f.assign(target=f["target"] + 0.5), ("--problem-type", "multiclass_classification"),
     r"^label column 'target' must hold class indices 0..k-1 for multiclass_classification"),
    (lambda f: f.head(5), ("--train-fraction", "0.9", "--validation-fraction", "0.05", "--test-fraction", "0.05"),
     r"^5 usable rows leave the (validation|test) split empty"),
    (lambda f: f, ("--train-fraction", "0.9"), r"^split fractions \(0.9, 0.15, 0.15\) .* sum to 1"),
    (lambda f: f.assign(target=np.nan), (), r"^every row of part-0.csv has an empty label column 'target'"),
    (lambda f: f.assign(**{"mean area": f["mean area"].where(f.index != 7, np.inf)}), (),
     r"^feature column 'mean area' has an infinite or too large value"),
]


@pytest.mark.slow  # a Spark job or two per row; the quick suite keeps one engine-parity test and the hashes
@pytest.mark.parametrize("mutate, extra, message", BAD_INPUTS,
                         ids=["missing-label", "non-numeric-feature", "binary-label-values", "text-labels",
                              "fractional-classes", "too-few-rows", "bad-fractions", "no-labels", "infinite"])
def test_both_engines_refuse_bad_input_with_the_same_line(tmp_path, cancer_frame, spark, mutate, extra, message):
    """GIVEN data that breaks the schema WHEN either engine runs THEN one UserError line names the problem and fix."""
    _write_inputs(tmp_path, mutate(cancer_frame.copy()))
    extra = ("--label-column", "target", *extra) if "--label-column" not in extra else extra
    for module, run in ((preprocess, preprocess.preprocess),
                        (spark_preprocess, lambda a: spark_preprocess.preprocess_spark(a, spark))):
        with pytest.raises(UserError) as caught:
            run(_args(module, tmp_path, *extra))
        assert re.search(message, str(caught.value)), (module.__name__, str(caught.value))
        assert "\n" not in str(caught.value)


def test_files_with_different_headers_and_ragged_rows_are_refused(tmp_path, cancer_frame, spark):
    """GIVEN two CSVs with different headers, then a ragged row WHEN the Spark step runs THEN each is one line."""
    _write_inputs(tmp_path, cancer_frame, parts=2)
    (tmp_path / "input" / "part-1.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match=r"^part-1.csv has columns \['a', 'b'\] but part-0.csv has"):
        spark_preprocess.preprocess_spark(_args(spark_preprocess, tmp_path, "--label-column", "target"), spark)
    (tmp_path / "input" / "part-1.csv").unlink()
    with (tmp_path / "input" / "part-0.csv").open("a") as handle:
        handle.write("1,2,3\n")
    with pytest.raises(UserError, match=r"^cannot read the input \(part-0.csv\): .*save it as UTF-8 CSV"):
        spark_preprocess.preprocess_spark(_args(spark_preprocess, tmp_path, "--label-column", "target"), spark)
