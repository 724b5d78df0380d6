"""Property-based: no request body, content type or Accept header makes the handlers fail with a 5xx.

GIVEN a real booster and generated requests (malformed JSON, CSV, NPY and Parquet
bodies, deep nesting, huge numbers, random bytes, odd headers) WHEN transform_fn
handles them THEN each one is either a prediction in a supported type or a client
error: a 4xx with a one-line reason, raised outside a server (the multi-model
contract) and returned as the response inside the image's Flask worker.
Examples are derandomized, so every run checks the same requests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import flask
import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"
if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

import inference  # noqa: E402

from smxgb import serving  # noqa: E402

FEATURES = 4
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def model() -> xgb.Booster:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, FEATURES)).astype(np.float32)
    labels = (features[:, 0] > 0).astype(np.float32)
    return xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                     xgb.DMatrix(features, labels), 3)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
    | st.integers(min_value=-(10**600), max_value=10**600),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(
        st.sampled_from(["instances", "features", "x"]) | st.text(max_size=4), children, max_size=3),
    max_leaves=30,
)
csv_fields = (st.floats().map(repr) | st.integers(min_value=-(10**500), max_value=10**500).map(str)
              | st.text(max_size=6) | st.just(""))
csv_bodies = st.lists(st.lists(csv_fields, min_size=1, max_size=FEATURES + 2), min_size=1, max_size=5).map(
    lambda rows: "\n".join(",".join(row) for row in rows))
nested = st.integers(min_value=1, max_value=3000).map(lambda depth: "[" * depth + "1" + "]" * depth)
long_numbers = st.integers(min_value=30, max_value=5000).map(lambda n: '{"instances": [[' + "9" * n + "]]}")
npy_like = st.binary(max_size=200).map(lambda tail: b"\x93NUMPY" + tail)
parquet_like = st.binary(max_size=200).map(lambda middle: b"PAR1" + middle + b"PAR1")
content_types = st.sampled_from([
    serving.CSV, serving.JSON, serving.PARQUET, serving.NPY, "text/csv; charset=utf-8", None, "", "application/xml",
]) | st.text(max_size=20)
accepts = st.sampled_from([None, "", "*/*", serving.CSV, serving.JSON, "application/xml", "text/*", "application/*",
                           "application/json, text/csv;q=0.5"]) | st.text(max_size=20)

requests = st.one_of(
    json_values.map(lambda value: (json.dumps(value), serving.JSON)),
    st.tuples(nested, st.just(serving.JSON)),
    st.tuples(long_numbers, st.just(serving.JSON)),
    st.tuples(csv_bodies, st.just(serving.CSV)),
    st.tuples(npy_like, st.just(serving.NPY)),
    st.tuples(parquet_like, st.just(serving.PARQUET)),
    st.tuples(st.binary(max_size=300) | st.text(max_size=300), content_types),
)


def _assert_one_line(message: str) -> None:
    assert message.strip(), "a client error must say what is wrong"
    assert "\n" not in message.strip() and "Traceback" not in message


@SETTINGS
@given(request=requests, accept=accepts)
def test_outside_a_server_every_request_is_a_prediction_or_a_4xx_error(model, request, accept) -> None:
    body, content_type = request
    try:
        payload, response_type = inference.transform_fn(model, body, content_type, accept)
    except serving.RequestError as error:
        assert 400 <= error.status_code < 500
        _assert_one_line(str(error))
    else:
        assert response_type in serving.RESPONSE_CONTENT_TYPES
        assert isinstance(payload, bytes)


@SETTINGS
@given(request=requests, accept=accepts)
def test_inside_the_flask_worker_a_bad_request_is_answered_not_raised(model, request, accept) -> None:
    body, content_type = request
    with flask.Flask(__name__).test_request_context():
        result = inference.transform_fn(model, body, content_type, accept)
    if isinstance(result, tuple):
        assert result[1] in serving.RESPONSE_CONTENT_TYPES
        return
    assert 400 <= result.status_code < 500
    assert result.mimetype == "text/plain"
    _assert_one_line(result.get_data(as_text=True))
