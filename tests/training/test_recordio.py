"""RecordIO-protobuf: our reader and writer against Google's protobuf and SageMaker's record.proto."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import scipy.sparse as sp

from tests.training import recordio_proto as sdk


@pytest.fixture
def dense():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    return X, y


def _read(data: bytes):
    from smxgb import recordio

    return recordio.read_all(io.BytesIO(data).read, "file t.recordio")


def _matrix(block) -> np.ndarray:
    return block.sparse.toarray() if block.sparse is not None else np.column_stack(block.columns)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, int])
def test_sdk_dense_records_of_every_numeric_type_read_back(dense, dtype):
    X, y = dense
    # GIVEN records written as the SDK writes them, with float32, float64 or int (Int32Tensor) arrays
    features = (X * 10).astype(dtype) if dtype is int else X.astype(dtype)
    buffer = io.BytesIO()
    sdk.write_numpy_to_dense_tensor(buffer, features, y.astype(dtype))
    # WHEN our reader reads them
    block = _read(buffer.getvalue())
    # THEN every value and label comes back as float32
    np.testing.assert_array_equal(_matrix(block), features.astype(np.float32))
    np.testing.assert_array_equal(block.label, y)


def test_sdk_sparse_records_read_back_as_csr(dense):
    X, y = dense
    # GIVEN a sparse matrix written with the SDK's write_spmatrix_to_sparse_tensor (keys + shape)
    X = np.where(np.abs(X) > 1, X, 0).astype(np.float32)
    buffer = io.BytesIO()
    sdk.write_spmatrix_to_sparse_tensor(buffer, sp.csr_matrix(X), y)
    # WHEN it is read
    block = _read(buffer.getvalue())
    # THEN it is a CSR matrix of the declared width with the same values
    assert block.sparse is not None and block.sparse.shape == X.shape
    np.testing.assert_array_equal(block.sparse.toarray(), X)
    np.testing.assert_array_equal(block.label, y)


def test_our_records_parse_with_protobuf_as_the_sdk_reads_them(dense):
    from smxgb import recordio

    X, y = dense
    # GIVEN records written by our vectorised writer
    buffer = io.BytesIO()
    recordio.write_dense(buffer, X, y)
    # WHEN the SDK's reader parses them with Google's protobuf
    records = sdk.read_records(io.BytesIO(buffer.getvalue()))
    # THEN each is a Record with features["values"] and label["values"] as float32 tensors
    assert len(records) == len(X)
    for row, record in zip(range(len(X)), records, strict=True):
        assert list(record.features["values"].float32_tensor.values) == X[row].tolist()
        assert list(record.label["values"].float32_tensor.values) == [y[row]]
    # AND byte for byte what protobuf writes for the same arrays
    theirs = io.BytesIO()
    sdk.write_numpy_to_dense_tensor(theirs, X, y)
    assert buffer.getvalue() == theirs.getvalue()


def test_a_payload_holding_the_magic_is_split_as_dmlc_does_and_rejoined(dense, monkeypatch):
    from smxgb import recordio

    X, y = dense
    # GIVEN features whose bytes hold the RecordIO magic at aligned offsets
    magic = np.frombuffer(recordio._MAGIC_BYTES, "<f4")[0]
    X = X.copy()
    X[5, :] = magic
    X[6, 1] = magic
    buffer = io.BytesIO()
    recordio.write_dense(buffer, X, y)
    data = buffer.getvalue()
    # THEN those records are written in parts with continuation flags 1..3
    flags = {struct_flag for struct_flag in _flags(data)}
    assert {0, 1, 3} <= flags
    # WHEN read back, also across small read chunks
    monkeypatch.setattr(recordio, "CHUNK_BYTES", 1000)
    block = _read(data)
    # THEN the values are exact, bit for bit
    np.testing.assert_array_equal(_matrix(block).view("<u4"), X.view("<u4"))
    np.testing.assert_array_equal(block.label, y)


def _flags(data: bytes):
    import struct

    pos = 0
    while pos < len(data):
        _, lrec = struct.unpack_from("<II", data, pos)
        yield lrec >> 29
        pos += 8 + (((lrec & ((1 << 29) - 1)) + 3) & ~3)


def test_mixed_records_take_the_general_path_and_the_fast_path_resumes(dense, monkeypatch):
    from smxgb import recordio

    X, y = dense
    # GIVEN float32 records with an Int32 record and a record with a uid in the middle
    buffer = io.BytesIO()
    recordio.write_dense(buffer, X[:100], y[:100])
    sdk.write_numpy_to_dense_tensor(buffer, (X[100:101] * 0 + 3).astype(int), y[100:101].astype(int))
    record = sdk.Record()
    record.features["values"].float32_tensor.values.extend(X[101])
    record.label["values"].float32_tensor.values.extend([y[101]])
    record.uid = "row-101"
    sdk._write_recordio(buffer, record.SerializeToString())
    recordio.write_dense(buffer, X[102:], y[102:])
    expected = X.copy()
    expected[100] = 3
    # WHEN read in chunks that cut records in half
    monkeypatch.setattr(recordio, "CHUNK_BYTES", 777)
    block = _read(buffer.getvalue())
    # THEN every row is right
    np.testing.assert_array_equal(_matrix(block), expected)
    np.testing.assert_array_equal(block.label, y)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: b"\x00\x01\x02\x03" + d[4:], r"record 1 .*not the RecordIO magic 0xced7230a"),
        (lambda d: d[:-10], r"record 3 .*ends inside a record"),
        (lambda d: d + b"\x0a\x23", r"record 4 .*ends inside a record"),
    ],
)
def test_broken_files_name_the_record_and_the_fix(dense, mutate, problem):
    from smxgb import recordio
    from smxgb.failure import UserError

    X, y = dense
    buffer = io.BytesIO()
    recordio.write_dense(buffer, X[:3], y[:3])
    # GIVEN a damaged file WHEN it is read THEN one line names the file, the record, the problem and the fix
    with pytest.raises(UserError, match=problem) as caught:
        _read(mutate(buffer.getvalue()))
    message = str(caught.value)
    assert "\n" not in message and "file t.recordio" in message
    assert re.search(r"write it with SageMaker's RecordIO-protobuf writer|--output-format recordio", message)


def test_records_without_numeric_features_are_refused():
    from smxgb.failure import UserError

    # GIVEN a record whose features are raw bytes (an image record, not a row of numbers)
    record = sdk.Record()
    record.features["values"].bytes.value.append(b"jpeg")
    buffer = io.BytesIO()
    sdk._write_recordio(buffer, record.SerializeToString())
    # WHEN it is read THEN the error says what the record holds
    with pytest.raises(UserError, match=r"record 1 .*raw bytes, not a numeric tensor"):
        _read(buffer.getvalue())
