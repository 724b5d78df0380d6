"""RecordIO-protobuf, the format of SageMaker's built-in algorithms, without MLIO or protoc.

The XGBoost 3.2-0 image no longer ships MLIO and has no generated ``record_pb2``,
and the code tarball may bring no dependency, so the two layers are written here:

* RecordIO framing (dmlc/MXNet): per record a little-endian ``uint32`` magic
  ``0xced7230a``, a ``uint32`` whose low 29 bits are the payload length and high
  3 bits a continuation flag (0 whole, 1 first, 2 middle, 3 last part), the
  payload, zero padding to 4 bytes. dmlc's writer splits a payload wherever the
  magic appears at a 4-byte aligned offset inside it (so a reader can find record
  starts by scanning); the parts are rejoined with the magic between them.
* The ``aialgs.data.Record`` message (SageMaker SDK's ``record.proto``):
  ``features`` and ``label`` are ``map<string, Value>`` keyed ``"values"``; a
  ``Value`` holds a ``Float32Tensor`` (field 2), ``Float64Tensor`` (3) or
  ``Int32Tensor`` (7), each with packed ``values`` (1), ``keys`` (2, sparse
  positions) and ``shape`` (3, the width of a sparse vector).

Speed: a file written by one writer from one dense matrix has records of one
length and identical bytes outside the numbers, so blocks of records are read as
a ``(records, stride)`` byte matrix checked against the first record and sliced
column by column (no per-record Python). Any record that differs (a split
payload, int32 or sparse values, another length) is decoded by the general
parser, and the fast path resumes after it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from smxgb.failure import UserError

CONTENT_TYPE = "application/x-recordio-protobuf"
MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1
MAX_PAYLOAD = 1 << 29
VALUES_KEY = "values"
# Value's oneof fields and the numpy type of each tensor's values (int32 values are varints).
_FLOAT32, _FLOAT64, _INT32, _BYTES = 2, 3, 7, 9
_FIXED_DTYPES = {_FLOAT32: np.dtype("<f4"), _FLOAT64: np.dtype("<f8")}
_FIX = ("write it with SageMaker's RecordIO-protobuf writer (sagemaker.amazon.common.write_numpy_to_dense_tensor)"
        " or preprocess.py --output-format recordio")
# Bytes read per step when a file is read block by block.
CHUNK_BYTES = 32 << 20


class FormatError(ValueError):
    """One bad record: the caller names the file or request around the message."""


# ---------------------------------------------------------------- protobuf wire format


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            break
    raise FormatError("a protobuf varint is truncated or longer than 10 bytes")


def _fields(data: bytes, pos: int, end: int) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value): an int for varint/fixed, a (start, stop) span for length-delimited."""
    while pos < end:
        key, pos = _read_varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos, end)
        elif wire == 1:
            value, pos = (pos, pos + 8), pos + 8
        elif wire == 2:
            length, pos = _read_varint(data, pos, end)
            value, pos = (pos, pos + length), pos + length
        elif wire == 5:
            value, pos = (pos, pos + 4), pos + 4
        else:
            raise FormatError(f"protobuf field {number} has wire type {wire} (groups), which a Record never holds")
        if pos > end:
            raise FormatError(f"protobuf field {number} runs past the end of its message (truncated record)")
        yield number, wire, value


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


@dataclass
class Tensor:
    kind: int  # _FLOAT32, _FLOAT64 or _INT32
    values: np.ndarray
    keys: np.ndarray | None  # sparse positions, or None for a dense vector
    shape: tuple[int, ...]
    #: Byte span of the values in the payload when they are one packed field (the fast path's anchor).
    span: tuple[int, int] | None = None


def _packed_varints(data: bytes, start: int, stop: int, signed32: bool) -> list[int]:
    out, pos = [], start
    while pos < stop:
        value, pos = _read_varint(data, pos, stop)
        if signed32 and value >= 1 << 63:
            value -= 1 << 64  # int32 negatives are sign-extended 10-byte varints
        out.append(value)
    return out


def _tensor(data: bytes, start: int, stop: int, kind: int) -> Tensor:
    dtype = _FIXED_DTYPES.get(kind)
    values: list[np.ndarray] = []
    scalars: list[float] = []
    keys: list[int] = []
    shape: list[int] = []
    spans = []
    for number, wire, value in _fields(data, start, stop):
        if number == 1:
            spans.append(value if wire == 2 else None)
            if dtype is not None and wire == 2:
                a, b = value
                if (b - a) % dtype.itemsize:
                    raise FormatError(f"packed tensor values take {b - a} bytes, not a multiple of {dtype.itemsize}")
                values.append(np.frombuffer(data, dtype=dtype, count=(b - a) // dtype.itemsize, offset=a))
            elif dtype is not None and wire in (1, 5):  # unpacked fixed-width values are legal protobuf too
                a, b = value
                scalars.append(float(np.frombuffer(data, dtype=dtype, count=1, offset=a)[0]))
            elif dtype is None and wire == 2:
                scalars.extend(_packed_varints(data, *value, signed32=True))
            elif dtype is None and wire == 0:
                scalars.append(value - (1 << 64) if value >= 1 << 63 else value)
        elif number in (2, 3):
            found = _packed_varints(data, *value, signed32=False) if wire == 2 else [value]
            (keys if number == 2 else shape).extend(found)
    if scalars:
        values.append(np.asarray(scalars, dtype=np.float64))
    merged = np.concatenate(values).astype(np.float32) if values else np.empty(0, np.float32)
    span = spans[0] if len(spans) == 1 else None
    return Tensor(kind, merged, np.asarray(keys, dtype=np.int64) if keys else None, tuple(shape), span)


def _value(data: bytes, start: int, stop: int, what: str) -> Tensor:
    tensor = None
    for number, wire, value in _fields(data, start, stop):
        if wire != 2:
            continue
        if number in (_FLOAT32, _FLOAT64, _INT32):
            tensor = _tensor(data, *value, number)
        elif number == _BYTES:
            raise FormatError(f"the {what} hold raw bytes, not a numeric tensor; write numbers (Float32Tensor)")
    if tensor is None:
        raise FormatError(f"the {what} hold no Float32Tensor, Float64Tensor or Int32Tensor")
    return tensor


def _map_entry(data: bytes, start: int, stop: int) -> tuple[str, tuple[int, int] | None]:
    key, span = "", None
    for number, wire, value in _fields(data, start, stop):
        if number == 1 and wire == 2:
            key = data[value[0]:value[1]].decode("utf-8", errors="replace")
        elif number == 2 and wire == 2:
            span = value
    return key, span


@dataclass
class Record:
    features: Tensor
    label: float  # NaN when the record has none
    label_tensor: Tensor | None = None


def decode_record(data: bytes) -> Record:
    """Parse one ``aialgs.data.Record`` payload."""
    maps: dict[int, dict[str, tuple[int, int] | None]] = {1: {}, 2: {}}
    for number, wire, value in _fields(data, 0, len(data)):
        if number in maps and wire == 2:
            key, span = _map_entry(data, *value)
            maps[number][key] = span
    features, labels = maps[1], maps[2]
    if VALUES_KEY not in features or features[VALUES_KEY] is None:
        found = sorted(features) or "none"
        raise FormatError(f"the record has no features map entry 'values' (entries: {found})")
    tensor = _value(data, *features[VALUES_KEY], "features")
    if len(tensor.shape) > 1:
        raise FormatError(f"the features are a tensor of shape {list(tensor.shape)}; write one vector per record")
    label = float("nan")
    if labels:
        if labels.get(VALUES_KEY) is None:
            raise FormatError(f"the record's label map has entries {sorted(labels)} but not 'values'")
        label_tensor = _value(data, *labels[VALUES_KEY], "label")
        if label_tensor.values.size != 1:
            raise FormatError(f"the record has {label_tensor.values.size} label values; write exactly one")
        return Record(tensor, float(label_tensor.values[0]), label_tensor)
    return Record(tensor, label)


def encode_record(features: np.ndarray, label: float | None = None) -> bytes:
    """One dense record: float32 features and an optional float32 label, as the SDK writes float32 arrays."""
    def value(vector: np.ndarray) -> bytes:
        tensor = _len_field(1, np.ascontiguousarray(vector, dtype="<f4").tobytes())
        entry = _len_field(1, VALUES_KEY.encode()) + _len_field(2, _len_field(_FLOAT32, tensor))
        return entry

    payload = _len_field(1, value(features))
    if label is not None:
        payload += _len_field(2, value(np.asarray([label])))
    return payload


# ---------------------------------------------------------------- RecordIO framing


def frame(payload: bytes) -> bytes:
    """One RecordIO record as dmlc writes it: split where the magic appears aligned, padded to 4 bytes."""
    if len(payload) >= MAX_PAYLOAD:
        raise FormatError(f"a record of {len(payload)} bytes is over RecordIO's limit of {MAX_PAYLOAD - 1}")
    parts, start = [], 0
    for offset in range(0, len(payload) - len(payload) % 4, 4):
        if payload[offset:offset + 4] == _MAGIC_BYTES:
            parts.append(payload[start:offset])
            start = offset + 4
    parts.append(payload[start:])
    out = bytearray()
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        flag = 0 if len(parts) == 1 else (1 if index == 0 else (3 if last else 2))
        out += _MAGIC_BYTES + struct.pack("<I", flag << 29 | len(part)) + part
    out += b"\0" * (-len(payload) % 4)
    return bytes(out)


def _unframe(data, pos: int) -> tuple[bytes, int] | None:
    """(payload, position after it) of the record at ``pos``; ``None`` if ``data`` ends before it does."""
    parts = []
    while True:
        if pos + 8 > len(data):
            return None
        magic, lrec = struct.unpack_from("<II", data, pos)
        if magic != MAGIC:
            raise FormatError(f"bytes {magic:#010x} where a record starts, not the RecordIO magic {MAGIC:#010x}")
        flag, length = lrec >> 29, lrec & _LENGTH_MASK
        expected = (0, 1) if not parts else (2, 3)
        if flag not in expected:
            raise FormatError(f"continuation flag {flag} where {' or '.join(map(str, expected))} was due")
        stop = pos + 8 + length
        if stop > len(data):
            return None
        parts.append(bytes(data[pos + 8:stop]))
        pos = pos + 8 + ((length + 3) & ~3)
        if flag in (0, 3):
            return _MAGIC_BYTES.join(parts), min(pos, len(data))


# ---------------------------------------------------------------- dense fast path


@dataclass(frozen=True)
class _Layout:
    """Where the numbers sit in a record of one fixed length; every other byte must equal ``template``."""

    stride: int
    template: np.ndarray  # uint8, one record with its padding
    fixed: np.ndarray  # indices of the bytes that must match
    feature_offset: int
    width: int
    dtype: np.dtype
    label_offset: int | None
    label_dtype: np.dtype | None  # None with a label: a one-byte int32 varint (0..127)


def _layout(framed: bytes, record: Record) -> _Layout | None:
    """The fast-path layout of a whole (unsplit) record, or None when its numbers are not at fixed places."""
    tensor = record.features
    dtype = _FIXED_DTYPES.get(tensor.kind)
    if dtype is None or tensor.keys is not None or not tensor.values.size or tensor.span is None:
        return None
    stride = len(framed)
    varying = np.zeros(stride, bool)
    feature_at = 8 + tensor.span[0]
    varying[feature_at:8 + tensor.span[1]] = True
    label_at = label_dtype = None
    label = record.label_tensor
    if label is not None:
        if label.span is None:
            return None
        label_at, size = 8 + label.span[0], label.span[1] - label.span[0]
        label_dtype = _FIXED_DTYPES.get(label.kind)
        if label_dtype is None and size != 1:
            return None  # int32 labels are varints: only one-byte ones (0..127) sit at a fixed place
        varying[label_at:label_at + size] = True
    return _Layout(stride, np.frombuffer(framed, np.uint8), np.flatnonzero(~varying), feature_at,
                   tensor.values.size, dtype, label_at, label_dtype)


def _fast_run(block: np.ndarray, layout: _Layout) -> int:
    """How many leading records of ``block`` (records x stride bytes) match the layout's template."""
    fixed = block[:, layout.fixed] == layout.template[layout.fixed]
    matches = fixed.all(axis=1)
    if layout.label_offset is not None and layout.label_dtype is None:
        matches &= block[:, layout.label_offset] < 0x80
    if matches.all():
        return len(matches)
    return int(np.argmin(matches))


def _columns_of(data: bytes, pos: int, count: int, layout: _Layout) -> tuple[list[np.ndarray], np.ndarray]:
    """Feature columns and labels of ``count`` fast-path records starting at ``pos``: one strided copy each."""
    def strided(offset: int, dtype: np.dtype, width: int) -> np.ndarray:
        return np.ndarray((count, width), dtype, buffer=data, offset=pos + offset,
                          strides=(layout.stride, dtype.itemsize))

    # Column-major in one pass: each column is then a contiguous view, as Arrow and XGBoost want.
    matrix = np.array(strided(layout.feature_offset, layout.dtype, layout.width), dtype=np.float32, order="F")
    columns = [matrix[:, j] for j in range(layout.width)]
    if layout.label_offset is None:
        label = np.full(count, np.nan, np.float32)
    else:
        label = strided(layout.label_offset, layout.label_dtype or np.dtype(np.uint8), 1)[:, 0].astype(np.float32)
    return columns, label


# ---------------------------------------------------------------- reading


@dataclass
class Block:
    """Consecutive records: dense float32 ``columns`` (one array per feature), or sparse ``rows``."""

    label: np.ndarray
    columns: list[np.ndarray] | None = None
    sparse: object | None = None  # scipy CSR with ``width`` columns

    @property
    def n_rows(self) -> int:
        return len(self.label)

    @property
    def width(self) -> int:
        return len(self.columns) if self.columns is not None else self.sparse.shape[1]


def _general_block(records: list[Record]) -> Block:
    label = np.asarray([r.label for r in records], np.float32)
    widths = {r.features.values.size for r in records if r.features.keys is None}
    if all(r.features.keys is None for r in records) and len(widths) == 1:
        matrix = np.vstack([r.features.values for r in records]).astype(np.float32)
        return Block(label, columns=[np.ascontiguousarray(matrix[:, j]) for j in range(matrix.shape[1])])
    import scipy.sparse as sp

    indptr, indices, values, width = [0], [], [], 0
    for r in records:
        keys = r.features.keys if r.features.keys is not None else np.arange(r.features.values.size)
        if keys.size != r.features.values.size:
            raise FormatError(f"a sparse tensor has {keys.size} keys for {r.features.values.size} values")
        declared = r.features.shape[-1] if r.features.shape else 0
        width = max(width, declared, int(keys.max()) + 1 if keys.size else 0)
        indices.append(keys)
        values.append(r.features.values)
        indptr.append(indptr[-1] + keys.size)
    matrix = sp.csr_matrix((np.concatenate(values), np.concatenate(indices), np.asarray(indptr)),
                           shape=(len(records), width), dtype=np.float32)
    return Block(label, sparse=matrix)


def iter_blocks(read, where: str) -> Iterator[Block]:
    """Blocks of records from ``read(n) -> bytes`` (a file's ``read``); errors name ``where`` and the record."""
    pending = b""
    record_index = 0
    layout: _Layout | None = None
    exhausted = False
    while not exhausted or pending:
        chunk = b"" if exhausted else read(CHUNK_BYTES)
        exhausted = exhausted or not chunk
        data = pending + chunk if pending else chunk
        pos, general = 0, []
        while pos < len(data):
            if layout is not None and not general and len(data) - pos >= layout.stride:
                count = (len(data) - pos) // layout.stride
                block = np.frombuffer(data, np.uint8, count * layout.stride, pos).reshape(count, layout.stride)
                run = _fast_run(block, layout)
                if run:
                    columns, label = _columns_of(data, pos, run, layout)
                    yield Block(label, columns=columns)
                    record_index += run
                    pos += run * layout.stride
                    continue
            try:
                found = _unframe(data, pos)
                if found is None:
                    if exhausted:
                        raise FormatError(f"the file ends inside a record ({len(data) - pos} bytes left)")
                    break
                payload, end = found
                record = decode_record(payload)
            except FormatError as exc:
                raise UserError(
                    f"{where} record {record_index + len(general) + 1} is not RecordIO-protobuf ({exc}); {_FIX}"
                ) from None
            if layout is None and end - pos == 8 + ((len(payload) + 3) & ~3):
                layout = _layout(bytes(data[pos:end]), record)
            general.append(record)
            pos = end
            # Hand over to the fast path as soon as the next record may match it again.
            if layout is not None:
                yield _general_block(general)
                record_index += len(general)
                general = []
        if general:
            yield _general_block(general)
            record_index += len(general)
        pending = bytes(data[pos:])
        if exhausted and pending:
            raise UserError(f"{where} record {record_index + 1} is not RecordIO-protobuf (the file ends inside a"
                            f" record); {_FIX}")


def read_all(read, where: str) -> Block:
    """Every record as one block (dense columns, or CSR when any record is sparse or widths differ)."""
    blocks = [b for b in iter_blocks(read, where) if b.n_rows]
    if not blocks:
        raise UserError(f"{where} holds no records; remove it or upload the data")
    return concat(blocks)


def concat(blocks: list[Block]) -> Block:
    if len(blocks) == 1:
        return blocks[0]
    label = np.concatenate([b.label for b in blocks])
    widths = {b.width for b in blocks}
    if all(b.columns is not None for b in blocks) and len(widths) == 1:
        columns = [np.concatenate([b.columns[j] for b in blocks]) for j in range(widths.pop())]
        return Block(label, columns=columns)
    import scipy.sparse as sp

    width = max(widths)
    parts = []
    for b in blocks:
        matrix = b.sparse if b.sparse is not None else sp.csr_matrix(np.column_stack(b.columns))
        parts.append(sp.csr_matrix(matrix, shape=(b.n_rows, width)))
    return Block(label, sparse=sp.vstack(parts, format="csr"))


# ---------------------------------------------------------------- writing


def write_dense(handle, features: np.ndarray, labels: np.ndarray | None = None, *, block_rows: int = 1 << 18) -> int:
    """Write rows of ``features`` (and ``labels``) as float32 records; returns the bytes written.

    All records share one layout, so blocks are assembled as byte matrices from a
    template; a record whose payload holds the magic at an aligned offset is
    framed one by one (split as dmlc does).
    """
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be a matrix, got shape {features.shape}")
    n, width = features.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} rows")
    first_label = None if labels is None else 0.0
    payload = encode_record(np.zeros(width, np.float32), first_label)
    stride = 8 + ((len(payload) + 3) & ~3)
    template = np.frombuffer(_MAGIC_BYTES + struct.pack("<I", len(payload)) + payload + b"\0" * (-len(payload) % 4),
                             np.uint8)
    # The numbers' places, read back from the template record itself.
    parsed = decode_record(payload)
    feature_at = 8 + parsed.features.span[0]
    label_at = 8 + parsed.label_tensor.span[0] if labels is not None else None
    written = 0
    for start in range(0, n, block_rows):
        rows = features[start:start + block_rows]
        block = np.empty((len(rows), stride), np.uint8)
        block[:] = template
        block[:, feature_at:feature_at + 4 * width] = np.ascontiguousarray(rows, "<f4").view(np.uint8)
        if label_at is not None:
            block[:, label_at:label_at + 4] = np.ascontiguousarray(labels[start:start + block_rows], "<f4").view(
                np.uint8).reshape(-1, 4)
        aligned = (len(payload) // 4) * 4
        words = np.ascontiguousarray(block[:, 8:8 + aligned]).view("<u4")
        escaped = np.flatnonzero((words == MAGIC).any(axis=1))
        previous = 0
        for row in escaped:
            handle.write(block[previous:row].tobytes())
            raw = block[row, 8:8 + len(payload)].tobytes()
            piece = frame(raw)
            handle.write(piece)
            written += len(piece)
            previous = row + 1
        handle.write(block[previous:].tobytes())
        written += (len(block) - len(escaped)) * stride
    return written

