"""RecordIO-protobuf, the binary format SageMaker's built-in algorithms share (application/x-recordio-protobuf).

Framing (MXNet RecordIO, as sagemaker-containers' _recordio.py and sagemaker-training's recordio.py
write it): per record a little-endian uint32 magic 0xCED7230A, a uint32 whose low 29 bits are the
payload length (the top 3 bits flag multi-part records, which SageMaker does not write), the payload,
and zero padding to a multiple of 4 bytes.

Payload: one protobuf `aialgs.data.Record` (record.proto in the same packages):
  Record  { map<string, Value> features = 1; map<string, Value> label = 2; string uid = 3; ... }
  Value   { oneof { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3;
                    Int32Tensor int32_tensor = 7; Bytes bytes = 9; } }
  *Tensor { repeated values = 1 [packed]; repeated uint64 keys = 2 [packed]; repeated uint64 shape = 3 [packed]; }
One record is one example: features["values"] holds its features (dense, or sparse with keys and
shape), label["values"] its label. This module reads and writes that wire format directly, so the
image needs no protobuf runtime (the real image reads it with AWS's ml-io, which is not on PyPI).
"""
import struct

import numpy as np

MAGIC = 0xCED7230A
_LENGTH_MASK = (1 << 29) - 1
_TENSORS = {2: ("<f", 4), 3: ("<d", 8), 7: (None, 0)}  # Value field -> (struct format, size); 7 is int32


class Tensor:
    def __init__(self, values, keys=(), shape=()):
        self.values, self.keys, self.shape = values, list(keys), list(shape)


# ---- framing ----------------------------------------------------------------------------------------

def split_records(data):
    """The protobuf payloads of the records in DATA (bytes), in order."""
    data, pos, number = memoryview(bytes(data)), 0, 0
    while pos < len(data):
        number += 1
        if len(data) - pos < 8:
            raise ValueError(f"record {number}: {len(data) - pos} stray byte(s) at offset {pos}, not a RecordIO header")
        magic, word = struct.unpack_from("<II", data, pos)
        if magic != MAGIC:
            raise ValueError(f"record {number}: no RecordIO magic number 0xCED7230A at offset {pos} "
                             f"(found {magic:#010x}): not recordio-protobuf data")
        if word >> 29:
            raise ValueError(f"record {number}: multi-part RecordIO records are not supported")
        length = word & _LENGTH_MASK
        start = pos + 8
        if start + length > len(data):
            raise ValueError(f"record {number}: truncated, {length} bytes announced, {len(data) - start} present")
        yield bytes(data[start:start + length])
        pos = start + ((length + 3) & ~3)


def frame(payload):
    padding = (-len(payload)) % 4
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\x00" * padding


# ---- protobuf wire format ---------------------------------------------------------------------------

def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """(field number, wire type, value) for each field of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _packed_varints(value, wire):
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(item)
    return out


def _tensor(kind, buf):
    fmt, size = _TENSORS[kind]
    values, keys, shape = [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            if fmt is None:  # int32: varints, negative numbers as 64-bit two's complement
                values.extend(v - (1 << 64) if v >= 1 << 63 else v for v in _packed_varints(value, wire))
            elif wire == 2:
                values.extend(struct.unpack(f"<{len(value) // size}{fmt[1]}", value))
            else:
                values.append(struct.unpack(fmt, value)[0])
        elif number == 2:
            keys.extend(_packed_varints(value, wire))
        elif number == 3:
            shape.extend(_packed_varints(value, wire))
    return Tensor(np.asarray(values, dtype=np.float64), keys, shape)


def _value(buf):
    for number, wire, value in _fields(buf):
        if number in _TENSORS and wire == 2:
            return _tensor(number, value)
        if number == 9:
            raise ValueError("a Bytes value, not a numeric tensor")
    raise ValueError("an empty Value")


def parse_record(payload):
    """{"features": {name: Tensor}, "label": {name: Tensor}} of one serialized Record."""
    record = {"features": {}, "label": {}}
    for number, wire, entry in _fields(payload):
        if number in (1, 2) and wire == 2:
            key, value = "", None
            for entry_number, _, entry_value in _fields(entry):
                if entry_number == 1:
                    key = bytes(entry_value).decode("utf-8")
                elif entry_number == 2:
                    value = entry_value
            if value is not None:
                record["features" if number == 1 else "label"][key] = _value(value)
    return record


def _varint_bytes(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number, payload):
    return _varint_bytes(number << 3 | 2) + _varint_bytes(len(payload)) + payload


def serialize_record(features=None, label=None):
    """A Record whose maps hold float32 tensors: {"values": [1.0, 2.0]} -> protobuf bytes."""
    out = b""
    for number, tensors in ((1, features or {}), (2, label or {})):
        for key, values in tensors.items():
            values = [float(v) for v in values]
            tensor = _length_delimited(1, struct.pack(f"<{len(values)}f", *values)) if values else b""
            entry = _length_delimited(1, key.encode("utf-8")) + _length_delimited(2, _length_delimited(2, tensor))
            out += _length_delimited(number, entry)
    return out


# ---- records <-> matrices ---------------------------------------------------------------------------

def to_matrix(payloads, with_labels):
    """Feature matrix (numpy, or scipy CSR when a record is sparse) and labels (or None)."""
    rows, labels, sparse = [], [], False
    for number, payload in enumerate(payloads, start=1):
        try:
            record = parse_record(payload)
        except (ValueError, struct.error, UnicodeDecodeError) as err:
            raise ValueError(f"record {number}: not a protobuf Record ({err})") from None
        features = record["features"].get("values")
        if features is None:
            raise ValueError(f"record {number} has no feature tensor named 'values'")
        sparse = sparse or bool(features.keys)
        rows.append(features)
        if with_labels:
            label = record["label"].get("values")
            if label is None or not len(label.values):
                raise ValueError(f"record {number} has no label tensor named 'values'")
            labels.append(label.values[0])
    if not rows:
        return None, None
    y = np.asarray(labels, dtype=np.float64) if with_labels else None
    if not sparse:
        widths = {len(row.values) for row in rows}
        if len(widths) > 1:
            first = len(rows[0].values)
            bad = next(i for i, row in enumerate(rows, start=1) if len(row.values) != first)
            raise ValueError(f"record {bad} has {len(rows[bad - 1].values)} features, record 1 has {first}")
        return np.vstack([row.values for row in rows]), y
    from scipy.sparse import csr_matrix

    data, indices, indptr, width = [], [], [0], 0
    for row in rows:
        keys = row.keys if row.keys else range(len(row.values))
        if len(keys) != len(row.values):
            raise ValueError(f"a sparse record has {len(keys)} keys but {len(row.values)} values")
        data.extend(row.values)
        indices.extend(keys)
        indptr.append(len(data))
        width = max([width, *(k + 1 for k in keys), *(row.shape[:1] or [0])])
    return csr_matrix((data, indices, indptr), shape=(len(rows), width)), y
