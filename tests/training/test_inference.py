"""Serving handlers on a real booster trained on scikit-learn's breast cancer data."""

from __future__ import annotations

import io
import json
import sys
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_iris

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:  # the container puts the source dir on sys.path
    sys.path.insert(0, str(TRAINING_DIR))

import inference  # noqa: E402

from smxgb import serving  # noqa: E402
from smxgb.env import MODEL_FILE_NAME  # noqa: E402


def _save_model(directory: Path, booster: xgb.Booster) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MODEL_FILE_NAME).write_bytes(booster.save_raw("ubj"))
    return directory


@pytest.fixture(scope="module")
def cancer():
    features, labels = load_breast_cancer(return_X_y=True)
    return features.astype(np.float32), labels


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, cancer):
    features, labels = cancer
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, xgb.DMatrix(features, labels), 20
    )
    return _save_model(tmp_path_factory.mktemp("model"), booster)


@pytest.fixture(scope="module")
def model(model_dir):
    return inference.model_fn(str(model_dir))


@pytest.fixture(scope="module")
def expected(model, cancer):
    """What the booster itself predicts, through the DMatrix path the handlers avoid."""
    return model.predict(xgb.DMatrix(cancer[0]))


def _invoke(model, body, content_type, accept="text/csv"):
    # Outside a Flask request a bad request raises its RequestError (the MMS contract).
    return inference.transform_fn(model, body, content_type, accept)


def _csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(value)) for value in row) for row in rows)


def _parse_csv_predictions(body: bytes) -> np.ndarray:
    return np.array([float(line) for line in body.decode().splitlines()], dtype=np.float32)


# ---------------------------------------------------------------- happy paths


def test_model_fn_reads_feature_count_from_the_booster(model):
    """GIVEN a UBJSON model trained on 30 features WHEN model_fn loads it THEN it reports 30 features."""
    assert model.num_features() == 30


@pytest.mark.parametrize("rows", [1, 3, 200], ids=["one-row", "small", "arrow-path"])
def test_csv_round_trip_equals_booster_predict(model, cancer, expected, rows):
    """GIVEN a CSV body of N rows WHEN it goes through the handlers THEN CSV out equals booster.predict."""
    body, content_type = _invoke(model, _csv(cancer[0][:rows]), "text/csv")
    assert content_type == "text/csv"
    np.testing.assert_array_equal(_parse_csv_predictions(body), expected[:rows])


def test_csv_accepts_bytes_crlf_and_content_type_parameters(model, cancer, expected):
    """GIVEN an undecoded CRLF body with a charset parameter WHEN decoded THEN predictions still match."""
    body = _csv(cancer[0][:5]).replace("\n", "\r\n").encode()
    out, _ = _invoke(model, body, "text/csv; charset=utf-8")
    np.testing.assert_array_equal(_parse_csv_predictions(out), expected[:5])


def test_empty_csv_fields_are_missing_values(model, cancer):
    """GIVEN a CSV row with empty fields WHEN predicted THEN it equals booster.predict with NaN there."""
    rows = cancer[0][:2].copy()
    rows[0, 3] = np.nan
    rows[1, 0] = np.nan
    text = "\n".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in rows)
    out, _ = _invoke(model, text, "text/csv")
    np.testing.assert_array_equal(_parse_csv_predictions(out), model.predict(xgb.DMatrix(rows)))


@pytest.mark.parametrize(
    "document",
    [
        lambda rows: {"instances": rows},
        lambda rows: rows,
        lambda rows: {"instances": [{"features": row} for row in rows]},
    ],
    ids=["instances", "plain-list", "features-objects"],
)
def test_json_in_json_out_equals_booster_predict(model, cancer, expected, document):
    """GIVEN each accepted JSON shape WHEN invoked with Accept JSON THEN predictions equal booster.predict."""
    rows = cancer[0][:4].tolist()
    out, content_type = _invoke(model, json.dumps(document(rows)), "application/json", "application/json")
    assert content_type == "application/json"
    np.testing.assert_array_equal(np.array(json.loads(out)["predictions"], dtype=np.float32), expected[:4])


def test_json_single_row_and_null_as_missing(model, cancer):
    """GIVEN one flat JSON row holding a null WHEN invoked THEN it is one row with a missing value."""
    row = cancer[0][0].tolist()
    row[2] = None
    out, _ = _invoke(model, json.dumps(row), "application/json", "application/json")
    reference = cancer[0][:1].copy()
    reference[0, 2] = np.nan
    assert json.loads(out)["predictions"] == pytest.approx(model.predict(xgb.DMatrix(reference)).tolist())


def test_parquet_in_equals_booster_predict(model, cancer, expected):
    """GIVEN a Parquet body with numeric columns WHEN invoked THEN predictions equal booster.predict."""
    table = pa.table({f"c{i}": cancer[0][:50, i] for i in range(30)})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    out, _ = _invoke(model, sink.getvalue(), "application/x-parquet")
    np.testing.assert_array_equal(_parse_csv_predictions(out), expected[:50])


def test_npy_in_equals_booster_predict(model, cancer, expected):
    """GIVEN an NPY float64 matrix WHEN invoked THEN predictions equal booster.predict."""
    sink = io.BytesIO()
    np.save(sink, cancer[0][:7].astype(np.float64))
    out, _ = _invoke(model, sink.getvalue(), "application/x-npy")
    np.testing.assert_array_equal(_parse_csv_predictions(out), expected[:7])


def test_recordio_protobuf_in_equals_booster_predict(model, cancer, expected):
    """GIVEN SageMaker RecordIO-protobuf records (float64, with labels, as the SDK writes them)
    WHEN invoked THEN the labels are ignored and predictions equal booster.predict."""
    from tests.training import recordio_proto

    sink = io.BytesIO()
    recordio_proto.write_numpy_to_dense_tensor(sink, cancer[0][:9].astype(np.float64), cancer[1][:9].astype(float))
    out, _ = _invoke(model, sink.getvalue(), "application/x-recordio-protobuf", accept="application/json")
    np.testing.assert_array_equal(np.float32(json.loads(out)["predictions"]), expected[:9])


def test_sparse_recordio_absent_entries_are_missing_values(model, cancer):
    """GIVEN a sparse record that leaves out feature 3 WHEN invoked THEN feature 3 is missing, not 0."""
    import scipy.sparse as sp

    from tests.training import recordio_proto

    row = cancer[0][:1].copy()
    row[0, 2] = 0.0
    sink = io.BytesIO()
    recordio_proto.write_spmatrix_to_sparse_tensor(sink, sp.csr_matrix(row))
    out, _ = _invoke(model, sink.getvalue(), "application/x-recordio-protobuf")
    reference = row.copy()
    reference[0, 2] = np.nan
    np.testing.assert_array_equal(_parse_csv_predictions(out), model.predict(xgb.DMatrix(reference)))


def test_multiclass_rows_carry_all_class_probabilities(tmp_path):
    """GIVEN a 3-class softprob model WHEN invoked THEN each CSV line holds 3 probabilities equal to predict."""
    features, labels = load_iris(return_X_y=True)
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "nthread": 1}, xgb.DMatrix(features, labels), 5
    )
    model = inference.model_fn(str(_save_model(tmp_path, booster)))
    out, _ = _invoke(model, _csv(features[:5]), "text/csv")
    got = np.array([[float(v) for v in line.split(",")] for line in out.decode().splitlines()], np.float32)
    np.testing.assert_array_equal(got, booster.predict(xgb.DMatrix(features[:5].astype(np.float32))))


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [(None, "text/csv"), ("*/*", "text/csv"), ("application/json, text/csv;q=0.5", "application/json")],
)
def test_accept_negotiation(accept, content_type):
    """GIVEN an Accept header WHEN negotiated THEN the first supported type wins, */* means CSV."""
    assert serving.negotiate_accept(accept) == content_type


# ---------------------------------------------------------------- client errors

WIDE_ROW = ",".join(["1.0"] * 31)
NARROW_ROW = ",".join(["1.0"] * 29)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("1.0,2.0", "text/csv", HTTPStatus.BAD_REQUEST, r"must have 30 features .*got 2"),
        (WIDE_ROW, "text/csv", HTTPStatus.BAD_REQUEST, r"must have 30 features .*got 31"),
        ("\n".join([NARROW_ROW] * 200), "text/csv", HTTPStatus.BAD_REQUEST, r"must have 30 features .*got 29"),
        ("1.0," * 29 + "abc", "text/csv", HTTPStatus.BAD_REQUEST, r"not numeric features only: .*'abc'"),
        (WIDE_ROW[4:] + "\n1.0,2.0", "text/csv", HTTPStatus.BAD_REQUEST, r"Expected 30 columns, got 2"),
        ("", "text/csv", HTTPStatus.BAD_REQUEST, r"body is empty"),
        ("\n \n", "text/csv", HTTPStatus.BAD_REQUEST, r"body is empty"),
        ("1.0," * 29 + "inf", "text/csv", HTTPStatus.BAD_REQUEST, r"row 1, feature 30 is infinite"),
        ("[[1, 2], [3]]", "application/json", HTTPStatus.BAD_REQUEST, r"equally long lists of numbers"),
        ('[["a"] ]', "application/json", HTTPStatus.BAD_REQUEST, r"equally long lists of numbers"),
        ("{not json", "application/json", HTTPStatus.BAD_REQUEST, r"JSON body does not parse"),
        ('{"rows": [[1]]}', "application/json", HTTPStatus.BAD_REQUEST, r'\{"instances".*keys \[\'rows\'\]'),
        ("[]", "application/json", HTTPStatus.BAD_REQUEST, r"holds no rows"),
        ('{"instances": [{"x": 1}]}', "application/json", HTTPStatus.BAD_REQUEST, r'"features" list'),
        ("[[1, 2]]", "application/json", HTTPStatus.BAD_REQUEST, r"must have 30 features .*got 2"),
        ('{"instances": [[' + "9" * 400 + "]]}", "application/json", HTTPStatus.BAD_REQUEST,
         r"a number 400 characters long.*at most 64"),
        ("[" * 5000 + "]" * 5000, "application/json", HTTPStatus.BAD_REQUEST, r"nests 5000 levels deep"),
        # Bounds hold before any parser runs: a 400-digit integer anywhere, 100 000 levels of nesting (past
        # Python's recursion limit), deep objects and deep "features" lists are all 400s, never a 500.
        ("1.0," * 29 + "9" * 400, "text/csv", HTTPStatus.BAD_REQUEST, r"row 1, feature 30 is infinite"),
        ("1.0," * 29 + "-" + "9" * 400, "text/csv", HTTPStatus.BAD_REQUEST, r"row 1, feature 30 is infinite"),
        ("[[" + "1," * 29 + "1e999]]", "application/json", HTTPStatus.BAD_REQUEST, r"row 1, feature 30 is infinite"),
        ('{"instances": [[' + "1," * 29 + "-" + "9" * 400 + "]]}", "application/json", HTTPStatus.BAD_REQUEST,
         r"a number 401 characters long"),
        ("9" * 400, "application/json", HTTPStatus.BAD_REQUEST, r"a number 400 characters long"),
        ('{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json", HTTPStatus.BAD_REQUEST,
         r"nests 100001 levels deep"),
        ('{"a": ' * 3000 + "1" + "}" * 3000, "application/json", HTTPStatus.BAD_REQUEST, r"nests 3000 levels deep"),
        ('{"instances": [{"features": ' + "[" * 50 + "1" + "]" * 50 + "}]}", "application/json",
         HTTPStatus.BAD_REQUEST, r"nests 53 levels deep"),
        ('["[[[[[[", {"instances": "]]]]"}]', "application/json", HTTPStatus.BAD_REQUEST, r"no rows|numbers"),
        ("[[[1.0]]]", "application/json", HTTPStatus.BAD_REQUEST, r"3-dimensional array; send rows"),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }"
         + b" " * 54 + b"\n", "application/x-npy", HTTPStatus.BAD_REQUEST, r"declares 400000000000 bytes"),
        (b"PAR1garbage", "application/x-parquet", HTTPStatus.BAD_REQUEST, r"Parquet body does not parse"),
        (b"\x93NUMPY garbage", "application/x-npy", HTTPStatus.BAD_REQUEST, r"NPY body does not parse"),
        (b"1,2,3\n", "application/x-recordio-protobuf", HTTPStatus.BAD_REQUEST,
         r"RecordIO-protobuf body record 1 is not RecordIO-protobuf \(.*the file ends inside a record"),
        (b"\x00" * 16, "application/x-recordio-protobuf", HTTPStatus.BAD_REQUEST,
         r"record 1 .*not the RecordIO magic 0xced7230a"),
        ("1,2", "image/png", HTTPStatus.UNSUPPORTED_MEDIA_TYPE, r"'image/png' is not supported.*text/csv"),
        ("1,2", None, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, r"None is not supported"),
    ],
)
def test_bad_payloads_are_client_errors(model, body, content_type, status, message):
    """GIVEN a malformed request WHEN handled THEN a RequestError carries the 4xx status and the reason."""
    with pytest.raises(serving.RequestError, match=message) as caught:
        _invoke(model, body, content_type)
    assert caught.value.status_code == status
    assert caught.value.phrase == status.phrase


def test_pickled_npy_is_refused(model):
    """GIVEN an NPY object array (which would need pickle) WHEN decoded THEN it is a 400, never unpickled."""
    sink = io.BytesIO()
    np.save(sink, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(serving.BadRequestError, match=r"pickled arrays are refused"):
        _invoke(model, sink.getvalue(), "application/x-npy")


def test_parquet_string_column_is_named(model):
    """GIVEN a Parquet body with a string column WHEN decoded THEN the 400 names that column."""
    sink = io.BytesIO()
    pq.write_table(pa.table({"age": [1.0], "city": ["Paris"]}), sink)
    with pytest.raises(serving.BadRequestError, match=r"column 'city' has type string"):
        _invoke(model, sink.getvalue(), "application/x-parquet")


def test_oversized_body_is_413(model, monkeypatch, cancer):
    """GIVEN SMXGB_MAX_PAYLOAD_BYTES=100 WHEN a larger body arrives THEN it is a 413 before parsing."""
    monkeypatch.setenv(serving.MAX_PAYLOAD_BYTES_ENV, "100")
    with pytest.raises(serving.PayloadTooLargeError, match=r"over the limit of 100 \(SMXGB_MAX_PAYLOAD_BYTES\)"):
        _invoke(model, _csv(cancer[0][:2]), "text/csv")


def test_too_many_rows_is_413(model, monkeypatch, cancer):
    """GIVEN SMXGB_MAX_ROWS=2 WHEN 3 rows arrive THEN it is a 413 naming the limit."""
    monkeypatch.setenv(serving.MAX_ROWS_ENV, "2")
    with pytest.raises(serving.PayloadTooLargeError, match=r"3 rows, over the limit of 2") as caught:
        _invoke(model, _csv(cancer[0][:3]), "text/csv")
    assert caught.value.status_code == 413


def test_nan_policy_reject(model, monkeypatch, cancer):
    """GIVEN SMXGB_NAN_POLICY=reject WHEN a row has an empty field THEN it is a 400 naming row and feature."""
    monkeypatch.setenv(serving.NAN_POLICY_ENV, "reject")
    text = _csv(cancer[0][:2]).split("\n")
    fields = text[1].split(",")
    fields[4] = ""
    text[1] = ",".join(fields)
    with pytest.raises(serving.BadRequestError, match=r"row 2, feature 5 is missing"):
        _invoke(model, "\n".join(text), "text/csv")


def test_unsupported_accept_is_406(model, cancer):
    """GIVEN Accept: application/xml WHEN encoding THEN it is a 406 listing what is supported."""
    with pytest.raises(serving.UnsupportedAcceptError, match=r"accept one of text/csv, application/json") as caught:
        _invoke(model, _csv(cancer[0][:1]), "text/csv", "application/xml")
    assert caught.value.status_code == 406


def test_misconfigured_limit_fails_model_loading(model_dir, monkeypatch):
    """GIVEN SMXGB_NAN_POLICY=sometimes WHEN the model loads THEN loading fails naming the variable."""
    monkeypatch.setenv(serving.NAN_POLICY_ENV, "sometimes")
    with pytest.raises(ValueError, match=r"SMXGB_NAN_POLICY='sometimes'; use one of missing, reject"):
        inference.model_fn(str(model_dir))


def test_missing_model_file_is_named(tmp_path):
    """GIVEN a model dir without xgboost-model WHEN loading THEN the error names the expected file."""
    with pytest.raises(FileNotFoundError, match=r"must hold xgboost-model"):
        inference.model_fn(str(tmp_path))


def test_every_content_type_the_model_package_declares_has_a_decoder():
    """GIVEN the request types the model package declares (smxgb.env) WHEN the handlers look one up
    THEN each has a decoder, and no decoder is left undeclared."""
    from smxgb import env

    assert set(serving._DECODERS) == set(env.SERVING_REQUEST_CONTENT_TYPES)
