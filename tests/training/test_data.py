"""Channel reading: formats, layouts and the errors a user can fix."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file


@pytest.fixture
def small():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    return X, y


def test_csv_file_reads_label_first_without_header(tmp_path, small, write_csv):
    from smxgb.data import read_channel_arrays

    X, y = small
    # GIVEN a headerless CSV with the label first
    path = write_csv(tmp_path / "d.csv", X, y)
    # WHEN it is read
    X_read, y_read = read_channel_arrays(path)
    # THEN features and label come back as float32 in the same order
    assert X_read.dtype == np.float32 and y_read.dtype == np.float32
    np.testing.assert_allclose(X_read, X, rtol=1e-5)
    np.testing.assert_array_equal(y_read, y)


def test_directory_of_csv_gz_and_nested_files_is_read_recursively_in_sorted_order(tmp_path, small, write_csv):
    from smxgb.data import read_channel_arrays

    X, y = small
    # GIVEN a channel split into a plain file, a nested gzip file and a Spark marker
    write_csv(tmp_path / "ch" / "part-0.csv", X[:20], y[:20])
    plain = write_csv(tmp_path / "tmp.csv", X[20:], y[20:])
    (tmp_path / "ch" / "sub").mkdir()
    with open(plain, "rb") as src, gzip.open(tmp_path / "ch" / "sub" / "part-1.csv.gz", "wb") as dst:
        dst.write(src.read())
    (tmp_path / "ch" / "_SUCCESS").write_text("")
    # WHEN the directory is read
    X_read, y_read = read_channel_arrays(tmp_path / "ch")
    # THEN all rows arrive, in file order, and the marker is ignored
    np.testing.assert_allclose(X_read, X, rtol=1e-5)
    np.testing.assert_array_equal(y_read, y)


def test_parquet_finds_the_label_column_by_name_wherever_it_is(tmp_path, small, write_parquet):
    import pyarrow.parquet as pq

    from smxgb.data import read_channel_arrays

    X, y = small
    path = write_parquet(tmp_path / "d.parquet", X, y)
    # GIVEN the label column is not first: move it to the end
    table = pq.read_table(path)
    pq.write_table(table.select([*table.schema.names[1:], "label"]), path)
    # WHEN it is read THEN the label comes from the named column and the features keep their order
    X_read, y_read = read_channel_arrays(path)
    np.testing.assert_allclose(X_read, X, rtol=1e-6)
    np.testing.assert_array_equal(y_read, y)


def test_parquet_without_a_label_column_is_a_user_error_not_its_first_column(tmp_path, small, write_parquet):
    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    X, y = small
    # GIVEN a Parquet file whose label column is called 'target'
    path = write_parquet(tmp_path / "d.parquet", X, y, label_name="target")
    # WHEN it is read THEN it fails naming the file, its columns and the fix (no silent first-column label)
    with pytest.raises(UserError, match=r"d.parquet has no 'label' column \(columns: 'target', 'x0'.*name the label"):
        read_channel_arrays(path)


def test_libsvm_by_content_type(tmp_path, small):
    from smxgb.data import read_channel_arrays

    X, y = small
    path = tmp_path / "d.txt"
    dump_svmlight_file(X, y, str(path))
    X_read, y_read = read_channel_arrays(path, content_type="text/libsvm")
    np.testing.assert_allclose(X_read, X, rtol=1e-5)
    np.testing.assert_array_equal(y_read, y)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("1,2,3\n0,4\n", r"row 2 has 2 columns but row 1 has 3"),
        ("1,2,3\n0,abc,5\n", r"row 2 column 2 has non-numeric value 'abc'"),
        ("y,a,b\n0,1,2\n", r"has a header row \('y', 'a', 'b'\) but no 'label' column; name the label column"),
        ("y,1,b\n0,1,2\n", r"row 1 column 1 has non-numeric value 'y' \(a header row\?.*'label'"),
        ("1,2,3\ninf,4,5\n", r"row 2 has an infinite label \(inf\)"),
        ("1,2,3\n0,1e999,5\n", r"row 2 column 2 has an infinite or too large value"),
        ("1,2,3\n,4,5\n", r"row 2 has a missing or NaN label"),
        ("1,2,3\nnan,4,5\n", r"row 2 has a missing or NaN label"),
    ],
)
def test_bad_csv_names_file_row_and_fix(tmp_path, content, pattern):
    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    # GIVEN a CSV file with one bad row
    path = tmp_path / "bad.csv"
    path.write_text(content)
    # WHEN it is read THEN the error names the file and the row
    with pytest.raises(UserError, match=pattern) as info:
        read_channel_arrays(path)
    assert "bad.csv" in str(info.value)


def test_empty_file_and_empty_directory_are_user_errors(tmp_path):
    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"has no data files"):
        read_channel_arrays(tmp_path / "empty")
    (tmp_path / "empty" / "x.csv").write_text("")
    with pytest.raises(UserError, match=r"x.csv .*is empty"):
        read_channel_arrays(tmp_path / "empty")


def test_files_of_different_width_in_one_channel_are_rejected(tmp_path, small, write_csv):
    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    X, y = small
    write_csv(tmp_path / "ch" / "a.csv", X, y)
    write_csv(tmp_path / "ch" / "b.csv", X[:, :3], y)
    with pytest.raises(UserError, match=r"b.csv.* has 3 features but .*4"):
        read_channel_arrays(tmp_path / "ch")


def test_auto_mode_goes_external_when_data_exceeds_available_memory(tmp_path, small, write_csv):
    from smxgb.data import EXTERNAL, MEMORY, choose_mode, open_channel

    X, y = small
    channel = open_channel("train", write_csv(tmp_path / "d.csv", X, y))
    assert choose_mode([channel], available_bytes=10**9) == MEMORY
    assert choose_mode([channel], available_bytes=100) == EXTERNAL
    assert choose_mode([channel], requested=EXTERNAL, available_bytes=10**9) == EXTERNAL


def test_parquet_string_column_is_a_user_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    pq.write_table(pa.table({"label": [0.0, 1.0], "colour": ["red", "blue"]}), tmp_path / "d.parquet")
    with pytest.raises(UserError, match=r"d.parquet column 'colour' has non-numeric type string"):
        read_channel_arrays(tmp_path / "d.parquet")


def test_a_channel_pointing_at_a_missing_path_names_the_channel_path_and_fix(tmp_path, monkeypatch):
    from smxgb import job
    from smxgb.failure import UserError

    # GIVEN SM_CHANNEL_TRAIN names a directory that is not there
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "gone"))
    # WHEN the job opens its channels THEN one line names the channel, the path and the fix
    with pytest.raises(UserError, match=r"channel 'train' path .*gone does not exist; point the channel at an "
                                        r"existing file or directory"):
        job.open_channels({})


@pytest.mark.parametrize(
    ("name", "payload", "pattern"),
    [
        ("d.csv.gz", b"1,2,3\n", r"d\.csv\.gz is named \.gz but is not a complete gzip file \(no gzip header\)"),
        ("d.csv.gz", gzip.compress(b"1,2,3\n" * 500, mtime=0)[:40], r"d\.csv\.gz is named \.gz but is not a complete"),
        ("d.libsvm.gz", b"1 1:2\n", r"d\.libsvm\.gz is named \.gz but is not a complete gzip file"),
        ("d.csv", bytes(range(256)), r"d\.csv is not UTF-8 text"),
        ("d.csv", b"1;2;3\n0;1;2\n", r"d\.csv has only one column \(separated by ';' or tabs\? use commas\)"),
        ("d.csv", b"label,a,label\n1,2,3\n", r"d\.csv has more than one column named 'label'"),
    ],
)
def test_undecodable_files_are_user_errors_naming_the_file(tmp_path, name, payload, pattern):
    from smxgb.data import read_channel_arrays
    from smxgb.failure import UserError

    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / name).write_bytes(payload)
    with pytest.raises(UserError, match=pattern):
        read_channel_arrays(tmp_path / "ch")


def test_csv_with_a_header_finds_the_label_by_name(tmp_path, small):
    from smxgb.data import load_channel, open_channel

    X, y = small
    # GIVEN a CSV whose header puts the label third
    rows = "".join(f"{a:.6g},{b:.6g},{label:g},{c:.6g},{d:.6g}\n" for (a, b, c, d), label in zip(X, y, strict=True))
    (tmp_path / "d.csv").write_text("a,b,label,c,d\n" + rows)
    # WHEN read THEN the label is that column and the features keep their order and names
    loaded = load_channel(open_channel("train", tmp_path / "d.csv"))
    np.testing.assert_array_equal(loaded.label, y)
    assert loaded.feature_names == ("a", "b", "c", "d")
    np.testing.assert_allclose(np.column_stack([c.to_numpy() for c in loaded.features.columns]), X, rtol=1e-5)
