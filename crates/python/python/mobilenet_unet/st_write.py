"""A deterministic safetensors writer (same tensors and metadata -> same bytes).

``safetensors.numpy.save_file`` writes ``__metadata__`` in hash-map order, which changes from run
to run; fixtures must regenerate byte for byte, so we write the (simple) format ourselves:
8-byte little-endian header length, a JSON header with sorted keys (``__metadata__`` first, then
tensors by name, each ``{"dtype", "shape", "data_offsets": [begin, end]}``), padded with spaces
to a multiple of 8 bytes, then the tensors' little-endian bytes back to back in the same order.
The result is read by any safetensors reader (checked in keras_reference.py).
"""

import json
import struct

import numpy as np

DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64",
          np.dtype("int32"): "I32", np.dtype("uint8"): "U8",
          np.dtype("uint16"): "U16"}


def safetensors_bytes(tensors, metadata=None):
    """The safetensors file for ``{name: array}`` and string metadata, as bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        if a.dtype not in DTYPES:
            raise ValueError("%s: unsupported dtype %s" % (name, a.dtype))
        data = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return b"".join([struct.pack("<Q", len(text)), text] + blobs)


def save_safetensors(path, tensors, metadata=None):
    """Writes ``safetensors_bytes(tensors, metadata)`` to ``path``."""
    data = safetensors_bytes(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
