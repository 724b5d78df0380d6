"""SageMaker's ``record.proto`` (aws/sagemaker-python-sdk, ``src/sagemaker/amazon/record.proto``), built
with the ``protobuf`` package at test time, and the SDK's ``write_numpy_to_dense_tensor`` /
``write_spmatrix_to_sparse_tensor`` / ``read_records`` on top of it.

SDK v3 (the one in the venv) dropped ``sagemaker.amazon``; these follow v2's ``common.py`` line for line
in what they put on the wire, so our reader and writer are checked against Google's protobuf
implementation, not against themselves.
"""

from __future__ import annotations

import struct

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _tensor(file, name: str, value_type: int) -> None:
    message = file.message_type.add(name=name)
    for number, field_name, field_type in ((1, "values", value_type), (2, "keys", _F.TYPE_UINT64),
                                           (3, "shape", _F.TYPE_UINT64)):
        field = message.field.add(name=field_name, number=number, type=field_type, label=_F.LABEL_REPEATED)
        field.options.packed = True


def _build():
    file = descriptor_pb2.FileDescriptorProto(name="smxgb_test_record.proto", package="aialgs.data",
                                              syntax="proto2")
    _tensor(file, "Float32Tensor", _F.TYPE_FLOAT)
    _tensor(file, "Float64Tensor", _F.TYPE_DOUBLE)
    _tensor(file, "Int32Tensor", _F.TYPE_INT32)
    data_bytes = file.message_type.add(name="Bytes")
    data_bytes.field.add(name="value", number=1, type=_F.TYPE_BYTES, label=_F.LABEL_REPEATED)
    data_bytes.field.add(name="content_type", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    value = file.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for number, name, type_name in ((2, "float32_tensor", "Float32Tensor"), (3, "float64_tensor", "Float64Tensor"),
                                    (7, "int32_tensor", "Int32Tensor"), (9, "bytes", "Bytes")):
        value.field.add(name=name, number=number, type=_F.TYPE_MESSAGE, type_name=f".aialgs.data.{type_name}",
                        label=_F.LABEL_OPTIONAL, oneof_index=0)
    record = file.message_type.add(name="Record")
    for number, name, entry in ((1, "features", "FeaturesEntry"), (2, "label", "LabelEntry")):
        nested = record.nested_type.add(name=entry)
        nested.options.map_entry = True
        nested.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
        nested.field.add(name="value", number=2, type=_F.TYPE_MESSAGE, type_name=".aialgs.data.Value",
                         label=_F.LABEL_OPTIONAL)
        record.field.add(name=name, number=number, type=_F.TYPE_MESSAGE,
                         type_name=f".aialgs.data.Record.{entry}", label=_F.LABEL_REPEATED)
    for number, name in ((3, "uid"), (4, "metadata"), (5, "configuration")):
        record.field.add(name=name, number=number, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


Record = _build()
_KMAGIC = 0xCED7230A


def _resolve_type(dtype) -> str:
    if dtype == np.dtype(int):
        return "int32_tensor"
    if dtype == np.dtype(float):
        return "float64_tensor"
    if dtype == np.dtype("float32"):
        return "float32_tensor"
    raise ValueError(f"Unsupported dtype {dtype} on array")


def _write_recordio(f, data: bytes) -> None:
    length = len(data)
    f.write(struct.pack("I", _KMAGIC))
    f.write(struct.pack("I", length))
    f.write(data)
    f.write(b"\0" * ((((length + 3) >> 2) << 2) - length))


def write_numpy_to_dense_tensor(file, array: np.ndarray, labels: np.ndarray | None = None) -> None:
    feature_type = _resolve_type(array.dtype)
    label_type = _resolve_type(labels.dtype) if labels is not None else None
    record = Record()
    for index, vector in enumerate(array):
        record.Clear()
        getattr(record.features["values"], feature_type).values.extend(vector)
        if labels is not None:
            getattr(record.label["values"], label_type).values.extend([labels[index]])
        _write_recordio(file, record.SerializeToString())


def write_spmatrix_to_sparse_tensor(file, array, labels: np.ndarray | None = None) -> None:
    feature_type = _resolve_type(array.dtype)
    label_type = _resolve_type(labels.dtype) if labels is not None else None
    csr = array.tocsr()
    record = Record()
    for row_index in range(csr.shape[0]):
        record.Clear()
        row = csr.getrow(row_index)
        tensor = getattr(record.features["values"], feature_type)
        tensor.values.extend(row.data)
        tensor.keys.extend(row.indices.astype(np.uint64))
        if labels is not None:
            getattr(record.label["values"], label_type).values.extend([labels[row_index]])
        tensor.shape.extend([csr.shape[1]])
        _write_recordio(file, record.SerializeToString())


def read_records(file) -> list:
    records = []
    while True:
        header = file.read(4)
        if len(header) < 4:
            return records
        assert struct.unpack("I", header)[0] == _KMAGIC
        (length,) = struct.unpack("I", file.read(4))
        record = Record()
        record.ParseFromString(file.read(length))
        file.read((((length + 3) >> 2) << 2) - length)
        records.append(record)
