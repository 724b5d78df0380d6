"""The preprocess processing step on scikit-learn's bundled datasets."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:  # the container puts the source dir on sys.path
    sys.path.insert(0, str(TRAINING_DIR))

import preprocess  # noqa: E402

from smxgb import schema  # noqa: E402
from smxgb.data import read_channel_arrays  # noqa: E402
from smxgb.failure import UserError  # noqa: E402


@pytest.fixture(scope="module")
def cancer_frame() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def _args(root: Path, *extra: str) -> list[str]:
    return [
        "--input-dir", str(root / "input"),
        "--train-dir", str(root / "train"),
        "--validation-dir", str(root / "validation"),
        "--test-dir", str(root / "test"),
        "--schema-dir", str(root / "schema"),
        "--failure-dir", str(root / "output"),
        *extra,
    ]


def _run(root: Path, *extra: str) -> schema.Schema:
    return preprocess.preprocess(preprocess.parse_args(_args(root, *extra)))


def _write_inputs(root: Path, frame: pd.DataFrame, parts: int = 1, fmt: str = "csv") -> None:
    (root / "input").mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        chunk = frame.iloc[part]
        if fmt == "csv":
            chunk.to_csv(root / "input" / f"part-{index}.csv", index=False)
        else:
            chunk.to_parquet(root / "input" / f"part-{index}.parquet", index=False)


def test_split_sizes_labels_and_schema(tmp_path, cancer_frame):
    """GIVEN breast cancer as one CSV WHEN preprocessed 70/15/15 THEN sizes, label-first rows and schema match."""
    _write_inputs(tmp_path, cancer_frame)
    written = _run(tmp_path, "--label-column", "target")

    sizes = {}
    all_rows = []
    for split in preprocess.SPLITS:
        features, labels = read_channel_arrays(tmp_path / split)
        sizes[split] = len(labels)
        assert features.shape[1] == 30
        all_rows.append(np.column_stack([labels, features]))
    assert sizes == {"train": 400, "validation": 75, "test": 94}
    # Every raw row lands in exactly one split, label first, values intact.
    raw = cancer_frame[["target", *cancer_frame.columns[:-1]]].to_numpy(np.float32)
    got = np.vstack(all_rows)
    np.testing.assert_array_equal(got[np.lexsort(got.T[::-1])], raw[np.lexsort(raw.T[::-1])])

    saved = json.loads((tmp_path / "schema" / "schema.json").read_text())
    assert saved["label"] == {"name": "target", "problem_type": "binary_classification", "classes": [0, 1]}
    assert [f["name"] for f in saved["features"]] == list(cancer_frame.columns[:-1])
    assert saved["rows"] == {"read": 569, "dropped": 0, "train": 400, "validation": 75, "test": 94}
    train_radius = read_channel_arrays(tmp_path / "train")[0][:, 0]
    assert saved["features"][0]["statistics"]["max"] == pytest.approx(float(train_radius.max()))
    assert schema.load(tmp_path / "schema" / "schema.json").feature_names == written.feature_names


def test_the_drift_baseline_describes_the_training_split_only(tmp_path, cancer_frame):
    """GIVEN breast cancer WHEN preprocessed THEN drift-baseline.json holds the train split's features, by name."""
    from smxgb import drift, report

    _write_inputs(tmp_path, cancer_frame)
    _run(tmp_path, "--label-column", "target")
    baseline = drift.Baseline.read(tmp_path / "schema" / report.DRIFT_BASELINE_FILE_NAME)
    train_features = read_channel_arrays(tmp_path / "train")[0]
    assert baseline.names == list(cancer_frame.columns[:-1])
    assert {f.rows for f in baseline.features} == {400}
    assert baseline.features[0].mean == pytest.approx(float(train_features[:, 0].mean()), rel=1e-5)
    # AND the training split read back (float32, as XGBoost reads it) shows no drift, nor does the test split
    assert drift.compare(baseline, train_features).max_psi < 0.01
    assert drift.compare(baseline, read_channel_arrays(tmp_path / "test")[0]).drifted == []


def test_same_input_and_seed_give_byte_identical_outputs(tmp_path, cancer_frame):
    """GIVEN the same three input files WHEN run twice with one seed and once with another THEN bytes match / differ."""
    outputs = {}
    for run, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        _write_inputs(tmp_path / run, cancer_frame, parts=3)
        _run(tmp_path / run, "--label-column", "target", "--seed", seed)
        outputs[run] = {
            path.relative_to(tmp_path / run): path.read_bytes()
            for path in sorted((tmp_path / run).rglob("*")) if path.is_file() and "input" not in path.parts
        }
    assert outputs["a"] == outputs["b"]
    assert outputs["a"][Path("train/train.csv")] != outputs["c"][Path("train/train.csv")]


def _split_rows(root: Path) -> dict[str, set[tuple]]:
    return {split: {tuple(row) for row in np.column_stack(read_channel_arrays(root / split)[::-1])}
            for split in preprocess.SPLITS}


def test_a_rows_split_depends_on_the_row_and_seed_not_on_its_position(tmp_path, cancer_frame):
    """GIVEN the rows shuffled into other files WHEN preprocessed with one seed, then another THEN each row keeps
    its split under one seed, and the seed moves rows."""
    _write_inputs(tmp_path / "a", cancer_frame, parts=1)
    _write_inputs(tmp_path / "b", cancer_frame.sample(frac=1.0, random_state=3), parts=4)
    _write_inputs(tmp_path / "c", cancer_frame, parts=1)
    for run, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        _run(tmp_path / run, "--label-column", "target", "--seed", seed)
    assert _split_rows(tmp_path / "a") == _split_rows(tmp_path / "b")
    assert _split_rows(tmp_path / "a")["train"] != _split_rows(tmp_path / "c")["train"]


def test_split_sizes_follow_the_fractions_statistically():
    """GIVEN 200,000 distinct rows WHEN assigned 70/20/10 THEN each share is within 0.5 points of its fraction."""
    from smxgb import split

    features = np.random.default_rng(0).normal(size=(200_000, 3))
    assigned = split.assign(split.row_hashes(42, np.zeros(200_000), features), (0.7, 0.2, 0.1))
    shares = np.bincount(assigned, minlength=3) / len(assigned)
    np.testing.assert_allclose(shares, (0.7, 0.2, 0.1), atol=0.005)


def test_parquet_in_parquet_out_regression(tmp_path):
    """GIVEN diabetes as two Parquet files WHEN preprocessed to Parquet THEN regression channels read back intact."""
    frame = load_diabetes(as_frame=True).frame
    _write_inputs(tmp_path, frame, parts=2, fmt="parquet")
    written = _run(tmp_path, "--label-column", "target", "--output-format", "parquet",
                   "--train-fraction", "0.8", "--validation-fraction", "0.2", "--test-fraction", "0")
    assert written.problem_type == schema.REGRESSION
    features, labels = read_channel_arrays(tmp_path / "train")
    assert (len(labels), features.shape[1]) == (364, 10)
    assert len(read_channel_arrays(tmp_path / "validation")[1]) == 78
    assert not (tmp_path / "test").exists()
    assert set(labels) <= set(frame["target"].astype(np.float32))


def test_recordio_channels_hold_the_same_rows_as_csv_and_train(tmp_path, cancer_frame):
    """GIVEN breast cancer with missing values WHEN preprocessed to RecordIO-protobuf and to CSV
    THEN each split holds the same rows (float32, NaN kept), the schema names the content type,
    and the records parse as SageMaker's Record message."""
    from tests.training import recordio_proto

    frame = cancer_frame.copy()
    frame.loc[[0, 5], "mean radius"] = np.nan
    for fmt in ("csv", "recordio"):
        _write_inputs(tmp_path / fmt, frame)
        written = _run(tmp_path / fmt, "--label-column", "target", "--missing", "keep", "--output-format", fmt)
    assert written.extra["content_type"] == "application/x-recordio-protobuf"
    for split in preprocess.SPLITS:
        X_csv, y_csv = read_channel_arrays(tmp_path / "csv" / split)
        X_rec, y_rec = read_channel_arrays(tmp_path / "recordio" / split)
        np.testing.assert_allclose(X_rec, X_csv, rtol=1e-5)
        np.testing.assert_array_equal(y_rec, y_csv)
    assert np.isnan(read_channel_arrays(tmp_path / "recordio" / "train")[0]).any()
    with open(tmp_path / "recordio" / "test" / "test.recordio", "rb") as handle:
        records = recordio_proto.read_records(handle)
    assert len(records) == len(y_rec) and len(records[0].features["values"].float32_tensor.values) == 30


def test_shards_split_each_split_into_consecutive_files_one_per_instance(tmp_path, cancer_frame):
    """GIVEN --shards 3 WHEN preprocessed THEN each split is 3 files in key order whose rows, concatenated, are
    the unsharded split's, byte for byte."""
    for shards in ("1", "3"):
        _write_inputs(tmp_path / shards, cancer_frame)
        _run(tmp_path / shards, "--label-column", "target", "--shards", shards)
    for split in preprocess.SPLITS:
        files = sorted((tmp_path / "3" / split).iterdir())
        assert [f.name for f in files] == [f"{split}-part-{i:05d}.csv" for i in range(3)]
        assert b"".join(f.read_bytes() for f in files) == (tmp_path / "1" / split / f"{split}.csv").read_bytes()
        assert all(f.stat().st_size for f in files)


@pytest.mark.parametrize(("shards", "message"), [
    ("0", r"--shards 0 must be at least 1"),
    ("200", r"the validation split has \d+ rows, fewer than --shards 200 \(one file per training instance\);"
            r" supply more data or train on fewer instances \(TrainingInstanceCount\)"),
])
def test_shards_that_leave_an_instance_without_data_are_refused(tmp_path, cancer_frame, shards, message):
    _write_inputs(tmp_path, cancer_frame)
    with pytest.raises(UserError, match=message):
        _run(tmp_path, "--label-column", "target", "--shards", shards)


def test_the_spark_step_refuses_recordio_before_starting_spark(tmp_path, cancer_frame):
    import spark_preprocess

    _write_inputs(tmp_path, cancer_frame)
    args = spark_preprocess.build_parser().parse_args(_args(tmp_path, "--output-format", "recordio"))
    with pytest.raises(UserError, match=r"writes Parquet or CSV shards, not RecordIO-protobuf; use --output-format"
                                        r" parquet, or the pandas engine"):
        spark_preprocess.preprocess_spark(args, spark=object())


def test_missing_values_drop_or_keep(tmp_path, cancer_frame):
    """GIVEN 3 rows with a missing feature and 1 without label WHEN drop vs keep THEN 4 vs 1 rows are dropped."""
    frame = cancer_frame.copy()
    frame.loc[[0, 5, 9], "mean radius"] = np.nan
    frame.loc[[11], "target"] = np.nan
    for policy, dropped in (("drop", 4), ("keep", 1)):
        _write_inputs(tmp_path / policy, frame)
        written = _run(tmp_path / policy, "--label-column", "target", "--missing", policy)
        assert written.extra["rows"]["dropped"] == dropped
    kept = np.vstack([read_channel_arrays(tmp_path / "keep" / split)[0] for split in preprocess.SPLITS])
    assert np.isnan(kept[:, 0]).sum() == 3


def test_string_labels_mapped_by_schema_classes(tmp_path, cancer_frame):
    """GIVEN text labels and a schema listing classes WHEN preprocessed THEN labels become class indices."""
    frame = cancer_frame.copy()
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    _write_inputs(tmp_path, frame)
    expected = {"label": {"name": "target", "classes": ["malignant", "benign"]},
                "features": [{"name": "mean radius"}, {"name": "mean texture", "type": "float"}]}
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    written = _run(tmp_path, "--schema-file", str(tmp_path / "expected.json"))
    assert (written.problem_type, written.classes) == (schema.BINARY, ["malignant", "benign"])
    labels = np.concatenate([read_channel_arrays(tmp_path / s)[1] for s in preprocess.SPLITS])
    assert np.bincount(labels.astype(int)).tolist() == [212, 357]
    assert read_channel_arrays(tmp_path / "train")[0].shape[1] == 2


@pytest.mark.parametrize(
    ("mutate", "extra", "message"),
    [
        (lambda f: f.drop(columns=["mean area"]), ("--feature-columns", "mean radius,mean area"),
         r"feature column 'mean area' is missing from the input .*fix the column name"),
        (lambda f: f, ("--label-column", "diagnosis"), r"label column 'diagnosis' is missing"),
        (lambda f: f.assign(**{"mean area": f["mean area"].astype(object).where(f.index != 3, "12,5 mm")}), (),
         r"feature column 'mean area' is not numeric \(value '12,5 mm' in row 4 of part-0.csv\); encode it"),
        (lambda f: f.assign(target=f["target"] * 2), ("--problem-type", "binary_classification"),
         r"label column 'target' has values \[2\] outside \{0, 1\} for binary_classification"),
        (lambda f: f.assign(target=f["target"].map({0: "M", 1: "B"})), (),
         r"label column 'target' has non-numeric values \['B', 'M'\]; list the label values .*classes"),
        (lambda f: f.assign(target=f["target"] + 0.5), ("--problem-type", "multiclass_classification"),
         r"must hold class indices 0..k-1 for multiclass_classification"),
        (lambda f: f.head(5), ("--train-fraction", "0.9", "--validation-fraction", "0.05",
                               "--test-fraction", "0.05"), r"5 usable rows leave the validation split empty"),
        (lambda f: f, ("--train-fraction", "0.9"), r"split fractions \(0.9, 0.15, 0.15\) .* sum to 1"),
        (lambda f: f, ("--problem-type", "ranking"), r"problem_type 'ranking' is not one of"),
    ],
    ids=["missing-feature", "missing-label", "non-numeric-feature", "binary-label-values", "text-labels",
         "fractional-classes", "too-few-rows", "bad-fractions", "bad-problem-type"],
)
def test_schema_mismatch_is_a_user_error_naming_the_fix(tmp_path, cancer_frame, mutate, extra, message):
    """GIVEN data that breaks the schema WHEN preprocessed THEN a UserError names the column and the fix."""
    _write_inputs(tmp_path, mutate(cancer_frame.copy()))
    with pytest.raises(UserError, match=message):
        _run(tmp_path, "--label-column", "target", *extra)


def test_schema_file_type_mismatch(tmp_path, cancer_frame):
    """GIVEN a schema typing a float column int WHEN preprocessed THEN the UserError names it and the fix."""
    _write_inputs(tmp_path, cancer_frame)
    (tmp_path / "expected.json").write_text(json.dumps(
        {"label": "target", "features": [{"name": "mean radius", "type": "int"}]}))
    with pytest.raises(UserError, match=r"'mean radius' is typed int in the schema but holds 17.99; .*type it float"):
        _run(tmp_path, "--schema-file", str(tmp_path / "expected.json"))


def test_mismatched_file_headers(tmp_path, cancer_frame):
    """GIVEN two input files with different headers WHEN read THEN the UserError names both files."""
    _write_inputs(tmp_path, cancer_frame, parts=2)
    cancer_frame.iloc[:3, 1:].to_csv(tmp_path / "input" / "part-2.csv", index=False)
    with pytest.raises(UserError, match=r"part-2.csv has columns .* but part-0.csv has .*share one header"):
        _run(tmp_path, "--label-column", "target")


def test_main_writes_failure_and_exit_message(tmp_path, capsys):
    """GIVEN an empty input dir WHEN main runs THEN it exits 2 with the reason in failure, message and stderr."""
    (tmp_path / "input").mkdir()
    with pytest.raises(SystemExit) as exited:
        preprocess.main(_args(tmp_path))
    assert exited.value.code == 2
    reason = r"no \.csv or \.parquet files in .*input; check the ProcessingInput S3 prefix"
    assert (tmp_path / "output" / "failure").read_text() == (tmp_path / "output" / "message").read_text()
    assert len((tmp_path / "output" / "message").read_text().splitlines()) == 1
    assert re.search(reason, (tmp_path / "output" / "message").read_text())
    assert re.search("FAILURE: " + reason, capsys.readouterr().err.strip().splitlines()[-1])


def test_bad_argument_reaches_the_failure_file(tmp_path):
    """GIVEN a non-numeric --seed WHEN main runs THEN the argparse problem is a reported UserError."""
    with pytest.raises(SystemExit):
        preprocess.main(_args(tmp_path, "--seed", "abc"))
    assert "bad arguments: argument --seed: invalid int value: 'abc'" in (tmp_path / "output" / "message").read_text()


def test_a_query_result_without_suffix_reads_as_parquet_and_spark_markers_are_ignored(tmp_path, cancer_frame):
    """GIVEN the data as Athena writes a query result (Parquet, no suffix) beside Spark's _SUCCESS marker and a
    .crc file WHEN preprocessed THEN the result is read and the markers are not, with the split of the CSV."""
    frame = cancer_frame.rename(columns={"target": "label"})
    (tmp_path / "input").mkdir()
    frame.to_parquet(tmp_path / "input" / "20261202_154500_00001_abcde_0", index=False)
    (tmp_path / "input" / "_SUCCESS").write_bytes(b"")
    (tmp_path / "input" / ".part-0.crc").write_bytes(b"crc")
    assert [p.name for p in preprocess.input_files(tmp_path / "input")] == ["20261202_154500_00001_abcde_0"]
    _run(tmp_path)
    _write_inputs(tmp_path / "csv", frame)
    _run(tmp_path / "csv")
    for split in ("train", "validation", "test"):
        queried, files = tmp_path / split / f"{split}.csv", tmp_path / "csv" / split / f"{split}.csv"
        assert queried.read_bytes() == files.read_bytes()
