"""Request decoding, validation and response encoding for the serving container.

``training/inference.py`` wires these into the script-mode handler contract.
Every problem with a request raises a :class:`RequestError` subclass carrying
its 4xx status and a one-line reason, which :func:`client_error` turns into the
response of whichever server runs the handlers, so a bad payload is never a 500
with a traceback. Untrusted bodies are bounded before any parser sees them:
size, JSON nesting depth and number length, NPY declared size.

Fast path: CSV is parsed by pyarrow's C++ reader (small payloads by a plain
``bytes.split``, which beats pyarrow's fixed cost below a few dozen rows), and
prediction uses ``Booster.inplace_predict`` on the float32 matrix, skipping the
DMatrix the container's default handler builds for every request.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from dataclasses import dataclass
from http import HTTPStatus

import numpy as np

from smxgb.env import SERVING_REQUEST_CONTENT_TYPES, SERVING_RESPONSE_CONTENT_TYPES

# Two servers can run the handlers. The image's single-model server is
# sagemaker-containers' Flask worker, whose Transformer maps every exception of a
# handler to one generic 500: there client_error answers with a response instead.
# Its multi-model server (MMS + sagemaker-inference) maps an exception to a status
# only when it is a BaseInferenceToolkitError, so our errors subclass that one
# when it is installed; tests and tools outside the image get a stand-in with the
# same constructor and attributes.
try:  # pragma: no cover - only the serving container has the toolkit
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:

    class _ToolkitError(Exception):  # type: ignore[no-redef]
        def __init__(self, status_code: int, message: str, phrase: str):
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


CSV = "text/csv"
JSON = "application/json"
PARQUET = "application/x-parquet"
NPY = "application/x-npy"
RECORDIO = "application/x-recordio-protobuf"
# Listed in smxgb.env, where synth reads them for the model package without importing numpy.
REQUEST_CONTENT_TYPES = SERVING_REQUEST_CONTENT_TYPES
RESPONSE_CONTENT_TYPES = SERVING_RESPONSE_CONTENT_TYPES
DEFAULT_ACCEPT = CSV

# Limits and policies, read per request so an endpoint's environment can change them.
MAX_PAYLOAD_BYTES_ENV = "SMXGB_MAX_PAYLOAD_BYTES"
MAX_ROWS_ENV = "SMXGB_MAX_ROWS"
NAN_POLICY_ENV = "SMXGB_NAN_POLICY"
PREDICT_THREADS_ENV = "SMXGB_PREDICT_THREADS"
# Real-time InvokeEndpoint caps the body at 6 MB; batch transform allows up to 100 MB
# (MaxPayloadInMB), so raise this for batch jobs.
DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
# "missing": NaN / empty CSV fields / JSON null are XGBoost missing values, as in
# training and in the container's default handler. "reject": any of them is a 400.
NAN_POLICY_MISSING = "missing"
NAN_POLICY_REJECT = "reject"
NAN_POLICIES = (NAN_POLICY_MISSING, NAN_POLICY_REJECT)
# The model server runs one worker per vCPU, so more threads per request oversubscribes.
DEFAULT_PREDICT_THREADS = 1
# Below this size splitting bytes in Python beats pyarrow's per-call setup.
SMALL_CSV_BYTES = 4096
# The deepest documented JSON request is {"instances": [{"features": [...]}]}. Checked
# before parsing: Python's json recursion fails only ~1000 levels down, after the work.
MAX_JSON_DEPTH = 4
# A float32 needs at most ~17 significant characters; a 400-digit integer would parse
# as a Python int and then overflow the float32 conversion.
MAX_NUMBER_CHARS = 64


class RequestError(_ToolkitError):
    """A request the client must fix; the model server answers with ``status_code``."""

    status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str):
        super().__init__(int(self.status), message, self.status.phrase)

    def __str__(self) -> str:
        return self.message


class BadRequestError(RequestError):
    status = HTTPStatus.BAD_REQUEST


class PayloadTooLargeError(RequestError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedContentTypeError(RequestError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class UnsupportedAcceptError(RequestError):
    status = HTTPStatus.NOT_ACCEPTABLE


def client_error(error: RequestError):
    """The response for a bad request: a Flask response inside the image's single-model server, else re-raise.

    The response body is the one-line reason; the status is the error's 4xx.
    """
    try:
        import flask
    except ImportError:  # pragma: no cover - every image ships Flask
        raise error from None
    if not flask.has_request_context():
        # MMS (sagemaker-inference) or a direct call: the exception carries the status.
        raise error
    return flask.Response(error.message + "\n", status=error.status_code, mimetype="text/plain")


@dataclass(frozen=True)
class Limits:
    max_payload_bytes: int
    max_rows: int
    nan_policy: str

    @classmethod
    def from_env(cls) -> Limits:
        nan_policy = os.environ.get(NAN_POLICY_ENV) or NAN_POLICY_MISSING
        if nan_policy not in NAN_POLICIES:
            # A misconfigured endpoint is the operator's fault, not the client's:
            # fail model loading rather than answer every request with a 400.
            raise ValueError(f"{NAN_POLICY_ENV}={nan_policy!r}; use one of {', '.join(NAN_POLICIES)}")
        return cls(
            max_payload_bytes=positive_int_env(MAX_PAYLOAD_BYTES_ENV, DEFAULT_MAX_PAYLOAD_BYTES),
            max_rows=positive_int_env(MAX_ROWS_ENV, DEFAULT_MAX_ROWS),
            nan_policy=nan_policy,
        )


def positive_int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name}={raw!r}; set a positive integer")
    return value


def media_type(content_type: str | None) -> str:
    """``"text/csv; charset=utf-8"`` -> ``"text/csv"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    # The toolkit hands JSON and CSV bodies over already decoded to str.
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


# ---------------------------------------------------------------- decoding


def decode(body, content_type: str | None, limits: Limits) -> np.ndarray:
    """Turn a request body into a validated C-contiguous float32 ``(rows, columns)`` matrix.

    The width is checked against the model by :func:`check_width`: the toolkit's
    ``input_fn`` does not get the model.
    """
    kind = media_type(content_type)
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnsupportedContentTypeError(
            f"content type {content_type!r} is not supported; send one of {', '.join(REQUEST_CONTENT_TYPES)}"
        )
    if body is None or len(body) == 0:
        raise BadRequestError("the request body is empty; send at least one row of features")
    if len(body) > limits.max_payload_bytes:
        raise PayloadTooLargeError(
            f"the request body is {len(body)} bytes, over the limit of {limits.max_payload_bytes}"
            f" ({MAX_PAYLOAD_BYTES_ENV}); split it into smaller requests"
        )
    return _validate(decoder(body), limits)


def check_width(matrix: np.ndarray, num_features: int) -> None:
    if matrix.shape[1] != num_features:
        raise BadRequestError(
            f"each row must have {num_features} features (no label column), got {matrix.shape[1]}"
        )


def _validate(matrix: np.ndarray, limits: Limits) -> np.ndarray:
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim > 2:
        raise BadRequestError(
            f"the request holds a {matrix.ndim}-dimensional array; send rows of numbers (a 2-D matrix)"
        )
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise BadRequestError("the request holds no rows; send at least one row of features")
    rows = matrix.shape[0]
    if rows > limits.max_rows:
        raise PayloadTooLargeError(
            f"the request has {rows} rows, over the limit of {limits.max_rows} ({MAX_ROWS_ENV});"
            " split it into smaller requests"
        )
    finite = np.isfinite(matrix)
    if not finite.all():
        infinite = np.isinf(matrix)
        if infinite.any():
            row, column = np.argwhere(infinite)[0]
            raise BadRequestError(f"row {row + 1}, feature {column + 1} is infinite; send finite numbers")
        if limits.nan_policy == NAN_POLICY_REJECT:
            row, column = np.argwhere(~finite)[0]
            raise BadRequestError(
                f"row {row + 1}, feature {column + 1} is missing (empty, null or NaN), and this endpoint"
                f" rejects missing values ({NAN_POLICY_ENV}={NAN_POLICY_REJECT})"
            )
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _decode_csv(body) -> np.ndarray:
    data = _as_bytes(body).strip()
    if not data:
        raise BadRequestError("the request body is empty; send at least one row of features")
    if len(data) <= SMALL_CSV_BYTES:
        small = _split_small_csv(data)
        if small is not None:
            return small
    return _read_csv_arrow(data)


def _split_small_csv(data: bytes) -> np.ndarray | None:
    """Parse tidy small payloads cheaply; ``None`` defers anything odd to pyarrow's precise errors."""
    rows = [line.split(b",") for line in data.replace(b"\r\n", b"\n").split(b"\n")]
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        return None
    try:
        return np.array(rows, dtype=np.float32)
    except ValueError:
        return None


def _read_csv_arrow(data: bytes) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    # pyarrow cannot infer the width of a single line that lacks a newline.
    if not data.endswith(b"\n"):
        data += b"\n"
    first_line_end = data.find(b"\n")
    num_columns = data.count(b",", 0, first_line_end) + 1
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            convert_options=_csv_convert_options(num_columns),
        )
    except pa.ArrowException as exc:
        raise BadRequestError(f"the CSV body is not numeric features only: {_arrow_reason(exc)}") from exc
    return _columns_to_matrix([column.to_numpy() for column in table.columns])


_convert_options_cache: dict[int, object] = {}


def _csv_convert_options(num_columns: int):
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    options = _convert_options_cache.get(num_columns)
    if options is None:
        # Declared float32 columns make a stray word a conversion error naming its row and
        # column, instead of a silently string-typed column.
        options = pa_csv.ConvertOptions(
            column_types={f"f{index}": pa.float32() for index in range(num_columns)},
            quoted_strings_can_be_null=False,
        )
        _convert_options_cache[num_columns] = options
    return options


def _arrow_reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()).removeprefix("CSV parse error: ")
    # Arrow quotes the offending line, which may be a whole row of numbers.
    return text if len(text) <= 200 else text[:200] + "..."


def _columns_to_matrix(columns: list[np.ndarray]) -> np.ndarray:
    if not columns:
        return np.empty((0, 0), dtype=np.float32)
    matrix = np.empty((len(columns[0]), len(columns)), dtype=np.float32)
    for index, column in enumerate(columns):
        matrix[:, index] = column
    return matrix


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_LONG_NUMBER = re.compile(rb"[-+0-9.eE]{%d,}" % (MAX_NUMBER_CHARS + 1))
_JSON_OPENERS = (ord("["), ord("{"))
_JSON_CLOSERS = (ord("]"), ord("}"))


def _check_json_bounds(data: bytes) -> None:
    """Refuse deep nesting and overlong numbers before ``json.loads`` spends time or memory on them."""
    skeleton = _JSON_STRING.sub(b'""', data)  # brackets and digits inside strings do not count
    codes = np.frombuffer(skeleton, dtype=np.uint8)
    steps = np.isin(codes, _JSON_OPENERS).astype(np.int64) - np.isin(codes, _JSON_CLOSERS)
    depth = int(np.cumsum(steps).max(initial=0))
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(
            f"the JSON body nests {depth} levels deep, more than the {MAX_JSON_DEPTH} a request needs;"
            ' send {"instances": [[...], ...]} or a list of rows'
        )
    long_number = _JSON_LONG_NUMBER.search(skeleton)
    if long_number:
        raise BadRequestError(
            f"the JSON body has a number {len(long_number.group())} characters long (digits and all);"
            f" features are float32, send numbers of at most {MAX_NUMBER_CHARS} characters"
        )


def _decode_json(body) -> np.ndarray:
    data = _as_bytes(body)
    _check_json_bounds(data)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequestError(f"the JSON body does not parse: {_one_line(exc)}") from exc
    rows = _json_rows(document)
    try:
        return np.array(rows, dtype=np.float32)
    except TypeError:
        # JSON null is a missing value; the slow path only runs when one is present.
        return _json_rows_with_nulls(rows)
    except (ValueError, OverflowError) as exc:
        raise BadRequestError(
            f"the JSON rows must be equally long lists of numbers: {_one_line(exc)}"
        ) from exc


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _json_rows(document) -> list:
    """Accept ``{"instances": [...]}``, ``{"instances": [{"features": [...]}]}``, a list of rows or one row."""
    if isinstance(document, dict):
        if "instances" not in document:
            raise BadRequestError(
                'the JSON body must be a list of rows or {"instances": [[...], ...]};'
                f" got an object with keys {sorted(document)[:5]}"
            )
        document = document["instances"]
    if not isinstance(document, list) or not document:
        raise BadRequestError("the JSON body holds no rows; send at least one row of features")
    if isinstance(document[0], dict):
        try:
            document = [instance["features"] for instance in document]
        except (KeyError, TypeError) as exc:
            raise BadRequestError('each JSON instance object must have a "features" list') from exc
    return document


def _json_rows_with_nulls(rows: list) -> np.ndarray:
    try:
        if rows and not isinstance(rows[0], list):
            rows = [rows]
        cleaned = [[np.nan if value is None else value for value in row] for row in rows]
        return np.array(cleaned, dtype=np.float32)
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRequestError(f"the JSON rows must be equally long lists of numbers: {_one_line(exc)}") from exc


def _decode_parquet(body) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(_as_bytes(body)))
    except (pa.ArrowException, OSError) as exc:
        raise BadRequestError(f"the Parquet body does not parse: {_one_line(exc)}") from exc
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                or pa.types.is_boolean(field.type)):
            raise BadRequestError(
                f"Parquet column {field.name!r} has type {field.type}; every column must be a numeric feature"
            )
        columns.append(column.cast(pa.float64()).to_numpy())
    return _columns_to_matrix(columns)


def _check_npy_header(data: bytes) -> None:
    """Refuse a header that declares more data than the body holds: np.load would allocate it first."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise BadRequestError(f"the NPY body does not parse: {_one_line(exc)}") from exc
    declared = math.prod(shape) * dtype.itemsize
    if declared > len(data):
        raise BadRequestError(
            f"the NPY header declares {declared} bytes of data but the body has {len(data)}; send a complete array"
        )


def _decode_npy(body) -> np.ndarray:
    data = _as_bytes(body)
    _check_npy_header(data)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadRequestError(
            f"the NPY body does not parse (pickled arrays are refused): {_one_line(exc)}"
        ) from exc
    if array.dtype.kind not in "biuf":
        raise BadRequestError(f"the NPY array has dtype {array.dtype}; send a numeric array")
    if array.ndim not in (1, 2):
        raise BadRequestError(f"the NPY array has {array.ndim} dimensions; send one row or a 2-D matrix")
    return array.astype(np.float32, copy=False)


def _decode_recordio(body) -> np.ndarray:
    """SageMaker's RecordIO-protobuf (smxgb.recordio); labels in the records are ignored."""
    from smxgb import recordio
    from smxgb.failure import UserError

    try:
        block = recordio.read_all(io.BytesIO(_as_bytes(body)).read, "the RecordIO-protobuf body")
    except UserError as exc:
        raise BadRequestError(str(exc)) from None
    if block.columns is not None:
        return _columns_to_matrix(block.columns)
    # Absent entries of a sparse record are missing values, as when XGBoost trains on CSR.
    sparse = block.sparse.tocoo()
    matrix = np.full(sparse.shape, np.nan, dtype=np.float32)
    matrix[sparse.row, sparse.col] = sparse.data
    return matrix


_DECODERS = {CSV: _decode_csv, JSON: _decode_json, PARQUET: _decode_parquet, NPY: _decode_npy,
             RECORDIO: _decode_recordio}


# ---------------------------------------------------------------- encoding


def negotiate_accept(accept: str | None) -> str:
    """The first supported type in an Accept header; ``*/*`` or none means CSV."""
    if not accept:
        return DEFAULT_ACCEPT
    for part in accept.split(","):
        kind = media_type(part)
        if kind in RESPONSE_CONTENT_TYPES:
            return kind
        if kind in ("*/*", "text/*"):
            return DEFAULT_ACCEPT
        if kind == "application/*":
            return JSON
    raise UnsupportedAcceptError(
        f"cannot answer with {accept!r}; accept one of {', '.join(RESPONSE_CONTENT_TYPES)}"
    )


def encode(prediction: np.ndarray, accept: str) -> bytes:
    """One line (CSV) or one list item (JSON) per row; class probabilities stay on their row.

    ``tolist()`` yields Python floats whose shortest repr parses back to the same float32.
    """
    values = np.asarray(prediction).tolist()
    if accept == JSON:
        return json.dumps({"predictions": values}, separators=(",", ":")).encode()
    if values and isinstance(values[0], list):
        lines = [",".join(map(repr, row)) for row in values]
    else:
        lines = list(map(repr, values))
    return ("\n".join(lines) + "\n").encode()
