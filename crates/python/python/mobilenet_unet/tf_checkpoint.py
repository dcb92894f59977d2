"""Read TensorFlow checkpoints (the "tensor bundle" format) with numpy only: no TensorFlow.

A checkpoint ``PREFIX`` is two or more files, written by ``tf.train.Checkpoint`` and by tf.keras 2's
``model.save_weights(path)`` when ``path`` does not end in ``.h5``:

* ``PREFIX.index``: a LevelDB-style sorted table (an SSTable). Its keys are tensor names; its
  values are ``BundleEntryProto`` messages (dtype, shape, shard, offset, size, crc32c). The empty
  key holds a ``BundleHeaderProto`` (number of shards, endianness).
* ``PREFIX.data-SSSSS-of-NNNNN``: the shards, holding each tensor's raw little-endian bytes at
  its entry's offset.

The table (https://github.com/google/leveldb/blob/main/doc/table_format.md): a 48-byte footer at
the end (two block handles, padding, the magic 0xdb4775248b80fb57) points to an index block
whose entries point to data blocks. Each block is followed by a compression byte and a masked
crc32c of the block plus that byte. A block is a run of prefix-compressed entries
``varint shared, varint unshared, varint value_len, key[shared:], value`` then restart offsets.

Checksums are crc32c (Castagnoli), "masked" as ``((c >> 15 | c << 17) + 0xa282ead8) mod 2^32``.
Every tensor read is checked against its entry: a corrupt, truncated or missing file gives a
:class:`CheckpointError` whose one-line message names the file and the tensor.

Keras's object graph: tf.keras saves its model as a graph of trackable objects, stored as a
``TrackableObjectGraph`` proto in the string tensor ``_CHECKPOINTABLE_OBJECT_GRAPH``. The model
(node 0) has children ``layer-N`` (every layer) and ``layer_with_weights-N`` (the N-th layer
that has weights, in ``model.layers`` order), each with children ``kernel``, ``bias``,
``depthwise_kernel``, ``gamma``, ... whose ``VARIABLE_VALUE`` attribute names the tensor, e.g.
``layer_with_weights-3/kernel/.ATTRIBUTES/VARIABLE_VALUE``. The optimizer's slots and counters
hang off other nodes and are not read. :func:`keras_weighted_layers` returns the layers' arrays.
"""

import glob
import json
import os
import re

import numpy as np

# -------------------------------------------------------------------------------------------------
# crc32c


def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, bit-reversed
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _crc32c_table()
_BITS = np.uint32(1) << np.arange(32, dtype=np.uint32)


def _apply(op, x):
    """Apply a GF(2)-linear map of 32-bit registers (op[i] = image of bit i) to array x."""
    x = np.asarray(x, dtype=np.uint32)
    out = np.zeros_like(x)
    for i in range(32):
        out ^= np.where(x & _BITS[i], op[i], np.uint32(0))
    return out


def _zero_bytes_op(n):
    """The map "feed n zero bytes into the (unconditioned) crc register", by squaring."""
    one = _TABLE[_BITS & np.uint32(0xFF)] ^ (_BITS >> np.uint32(8))  # one zero byte
    result = _BITS.copy()  # identity
    while n:
        if n & 1:
            result = _apply(one, result)
        one = _apply(one, one)
        n >>= 1
    return result


def crc32c(data):
    """crc32c of ``data`` (bytes-like). Vectorised: the bytes are cut into 2^k lanes that are
    checksummed side by side, then joined pairwise (crc(A+B) = shift(crc(A), len(B)) ^ crc(B) for
    the unconditioned register), so a 25 MB file takes about a second in numpy."""
    a = np.frombuffer(memoryview(data), dtype=np.uint8)
    n = a.size
    lanes = 1
    while lanes < 65536 and lanes * 64 <= n:
        lanes *= 2
    step = -(-n // lanes) if n else 0
    # Leading zero bytes leave a zero register unchanged, so pad in front.
    grid = np.concatenate([np.zeros(lanes * step - n, np.uint8), a]).reshape(lanes, step).T.copy()
    reg = np.zeros(lanes, dtype=np.uint32)
    for row in grid:
        reg = _TABLE[(reg ^ row) & 0xFF] ^ (reg >> np.uint32(8))
    op = _zero_bytes_op(step)
    while reg.size > 1:
        reg = _apply(op, reg[0::2]) ^ reg[1::2]
        op = _apply(op, op)
    # The standard crc starts from 0xffffffff and inverts at the end.
    start = _apply(_zero_bytes_op(n), np.array([0xFFFFFFFF], np.uint32))[0]
    return int(start ^ reg[0]) ^ 0xFFFFFFFF


def unmask_crc(masked):
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def mask_crc(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# -------------------------------------------------------------------------------------------------
# protobuf wire format (only what the bundle protos need)


class CheckpointError(Exception):
    """A checkpoint that cannot be read; the message is one line naming the file (and tensor)."""


def _varint(buf, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def proto_fields(buf):
    """[(field_number, value)] of a serialized message: ints for varint/fixed fields, bytes for
    length-delimited ones (sub-messages, strings, packed arrays). A ``buf`` that is not bytes (a
    field that should hold a message but was written as a number) is a ``ValueError``."""
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise ValueError("expected a sub-message, found %r" % (buf,))
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = bytes(buf[pos:pos + length]), pos + length
        else:
            raise ValueError("unsupported wire type %d" % wire)
        if pos > len(buf):
            raise ValueError("truncated field %d" % field)
        out.append((field, value))
    return out


def _first(fields, number, default=None):
    return next((v for f, v in fields if f == number), default)


def _first_int(fields, number, default=0):
    """Field ``number`` as a varint / fixed-width integer; a length-delimited one is a ValueError."""
    value = _first(fields, number, default)
    if not isinstance(value, int):
        raise ValueError("field %d should be an integer" % number)
    return value


def _first_text(fields, number):
    """Field ``number`` as UTF-8 text (empty if absent); a number there is a ValueError."""
    value = _first(fields, number, b"")
    if not isinstance(value, bytes):
        raise ValueError("field %d should be a string" % number)
    return value.decode()


# TensorFlow's DataType enum (types.proto) -> numpy little-endian dtype.
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2",
          19: "<f2", 22: "<u4", 23: "<u8"}
DT_STRING = 7


class Entry:
    """One ``BundleEntryProto``: where a tensor's bytes are and what they should be."""

    def __init__(self, name, raw):
        f = proto_fields(raw)
        self.name = name
        self.dtype = _first_int(f, 1)
        shape = proto_fields(_first(f, 2, b""))
        self.shape = tuple(_first_int(proto_fields(d), 1) for n, d in shape if n == 2)
        self.shard = _first_int(f, 3)
        self.offset = _first_int(f, 4)
        self.size = _first_int(f, 5)
        self.crc32c = _first_int(f, 6)
        self.sliced = any(n == 7 for n, _ in f)


# -------------------------------------------------------------------------------------------------
# the .index table

TABLE_MAGIC = 0xDB4775248B80FB57


def _block(data, offset, size, where):
    """A block's bytes after checking its trailer (no compression, crc32c of block + type)."""
    end = offset + size
    if end + 5 > len(data):
        raise CheckpointError("%s: truncated (a table block ends at byte %d of %d)" % (where, end + 5, len(data)))
    kind = data[end]
    if kind != 0:
        raise CheckpointError("%s: table block compressed with type %d (only uncompressed is supported)"
                              % (where, kind))
    stored = unmask_crc(int.from_bytes(data[end + 1:end + 5], "little"))
    if crc32c(data[offset:end + 1]) != stored:
        raise CheckpointError("%s: corrupt (a table block at byte %d fails its crc32c)" % (where, offset))
    return data[offset:end]


def _block_entries(block):
    n_restarts = int.from_bytes(block[-4:], "little")
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise ValueError("bad restart count")
    pos, key, out = 0, b"", []
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + vlen > limit:
            raise ValueError("bad block entry")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        out.append((key, bytes(block[pos:pos + vlen])))
        pos += vlen
    return out


def read_index(path):
    """{key (str): value (bytes)} of an SSTable file, every block's checksum verified."""
    where = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise CheckpointError("%s: no such file" % path)
    if len(data) < 48 or int.from_bytes(data[-8:], "little") != TABLE_MAGIC:
        raise CheckpointError("%s: not a TensorFlow checkpoint index (no table footer; truncated?)" % where)
    try:
        footer = data[-48:-8]
        _, pos = _varint(footer, 0)
        _, pos = _varint(footer, pos)  # metaindex handle: unused
        index_off, pos = _varint(footer, pos)
        index_size, pos = _varint(footer, pos)
        entries = {}
        for _, handle in _block_entries(_block(data, index_off, index_size, where)):
            off, p = _varint(handle, 0)
            size, _ = _varint(handle, p)
            for k, v in _block_entries(_block(data, off, size, where)):
                entries[k.decode("utf-8", "replace")] = v
    except (ValueError, IndexError) as e:
        raise CheckpointError("%s: corrupt table (%s)" % (where, e))
    return entries


# -------------------------------------------------------------------------------------------------
# the bundle


class Checkpoint:
    """A checkpoint ``PREFIX`` (``PREFIX.index`` + its data shards), read lazily per tensor."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.index_name = os.path.basename(prefix) + ".index"
        raw = read_index(prefix + ".index")
        try:
            header = proto_fields(raw.pop("", b""))
            self.num_shards = _first_int(header, 1, 1)
            big_endian = _first_int(header, 2, 0)
            self.entries = {k: Entry(k, v) for k, v in raw.items()}
        except ValueError as e:
            raise CheckpointError("%s: corrupt entry (%s)" % (self.index_name, e))
        if big_endian != 0:
            raise CheckpointError("%s: big-endian checkpoints are not supported" % self.index_name)
        self._shards = {}

    def shard_path(self, shard):
        return "%s.data-%05d-of-%05d" % (self.prefix, shard, self.num_shards)

    def _shard_bytes(self, entry):
        if entry.shard not in self._shards:
            path = self.shard_path(entry.shard)
            try:
                with open(path, "rb") as fh:
                    self._shards[entry.shard] = fh.read()
            except FileNotFoundError:
                raise CheckpointError("%s: missing (shard %d of %d, holding tensor %r)"
                                      % (os.path.basename(path), entry.shard, self.num_shards, entry.name))
        return self._shards[entry.shard]

    def raw_bytes(self, name):
        """The tensor's entry and its bytes in its shard, checked for length and crc32c."""
        entry = self.entries.get(name)
        if entry is None:
            raise CheckpointError("%s: no tensor %r" % (self.index_name, name))
        data = self._shard_bytes(entry)
        fname = os.path.basename(self.shard_path(entry.shard))
        end = entry.offset + entry.size
        if end > len(data):
            raise CheckpointError("%s: truncated: tensor %r needs bytes %d..%d, the file has %d"
                                  % (fname, name, entry.offset, end, len(data)))
        blob = memoryview(data)[entry.offset:end]
        if entry.dtype == DT_STRING:
            got = _string_tensor_crc(bytes(blob), int(np.prod(entry.shape, dtype=np.int64)), fname, name,
                                     unmask_crc(entry.crc32c))
        else:
            got = crc32c(blob)
        if got != unmask_crc(entry.crc32c):
            raise CheckpointError("%s: tensor %r fails its crc32c (0x%08x, index says 0x%08x): corrupt file"
                                  % (fname, name, got, unmask_crc(entry.crc32c)))
        return entry, blob

    def tensor(self, name):
        """The tensor as a numpy array (numeric dtypes) or a list of bytes (strings)."""
        entry, blob = self.raw_bytes(name)
        fname = os.path.basename(self.shard_path(entry.shard))
        if entry.sliced:
            raise CheckpointError("%s: tensor %r is saved in slices (partitioned variables are not supported)"
                                  % (fname, name))
        count = int(np.prod(entry.shape, dtype=np.int64))
        if entry.dtype == DT_STRING:
            return _split_strings(bytes(blob), count, fname, name)[1]
        if entry.dtype not in DTYPES:
            raise CheckpointError("%s: tensor %r has unsupported dtype %d" % (fname, name, entry.dtype))
        dtype = np.dtype(DTYPES[entry.dtype])
        if count * dtype.itemsize != entry.size:
            raise CheckpointError("%s: tensor %r: %d bytes for shape %s of %s"
                                  % (self.index_name, name, entry.size, list(entry.shape), dtype))
        return np.frombuffer(blob, dtype=dtype).reshape(entry.shape).astype(dtype.newbyteorder("="))


def _split_strings(blob, count, fname, name):
    """A string tensor's layout: varint64 lengths, a masked crc32c of the lengths, then the
    strings' bytes back to back. Returns (lengths, strings, length checksum bytes)."""
    try:
        lengths, pos = [], 0
        for _ in range(count):
            n, pos = _varint(blob, pos)
            lengths.append(n)
        checksum = blob[pos:pos + 4]
        pos += 4
        out = []
        for n in lengths:
            if pos + n > len(blob):
                raise ValueError("string past the end")
            out.append(blob[pos:pos + n])
            pos += n
    except ValueError as e:
        raise CheckpointError("%s: tensor %r: malformed string tensor (%s)" % (fname, name, e))
    return lengths, out, checksum


def _string_tensor_crc(blob, count, fname, name, want):
    """TensorFlow checksums a string tensor as its lengths in fixed width (uint32 in TF 2.x's
    writer; uint64 in some older ones), not their varints, then the 4-byte length checksum, then
    the strings. Returns the crc that matches ``want``, else the uint32 one."""
    lengths, strings, checksum = _split_strings(blob, count, fname, name)
    tail = checksum + b"".join(strings)
    crcs = [crc32c(np.array(lengths, dtype=w).tobytes() + tail) for w in ("<u4", "<u8")]
    return want if want in crcs else crcs[0]


# -------------------------------------------------------------------------------------------------
# Keras's object graph

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def object_graph(ckpt):
    """The TrackableObjectGraph as [(children {local_name: node_id}, attributes {name: key})]."""
    if OBJECT_GRAPH_KEY not in ckpt.entries:
        raise CheckpointError("%s: no %s entry: not an object-based (TF2 / tf.keras) checkpoint"
                              % (ckpt.index_name, OBJECT_GRAPH_KEY))
    raw = ckpt.tensor(OBJECT_GRAPH_KEY)[0]
    nodes = []
    try:
        for field, node in proto_fields(raw):
            if field != 1:
                continue
            children, attrs = {}, {}
            for f, v in proto_fields(node):
                sub = proto_fields(v) if f in (1, 2) else []
                if f == 1:
                    children[_first_text(sub, 2)] = _first_int(sub, 1)
                elif f == 2:
                    attrs[_first_text(sub, 1)] = _first_text(sub, 3)
            nodes.append((children, attrs))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError("%s: tensor %r is malformed (%s)" % (ckpt.index_name, OBJECT_GRAPH_KEY, e))
    return nodes


def keras_weighted_layers(ckpt):
    """The model's weighted layers in ``model.layers`` order: [(node path, {weight: array})],
    e.g. ``("layer_with_weights-0", {"kernel": ..., "bias": ...})``. Only the model's own
    variables are read (not the optimizer's slots, iteration counter or ``save_counter``)."""
    nodes = object_graph(ckpt)

    def node(node_id, path):
        if node_id >= len(nodes):
            raise CheckpointError("%s: tensor %r is malformed (%s points to node %d of %d)"
                                  % (ckpt.index_name, OBJECT_GRAPH_KEY, path, node_id, len(nodes)))
        return nodes[node_id]

    root_children = nodes[0][0] if nodes else {}
    layers = []
    n = 0
    while "layer_with_weights-%d" % n in root_children:
        path = "layer_with_weights-%d" % n
        children = node(root_children[path], path)[0]
        arrays = {}
        for weight, node_id in children.items():
            key = node(node_id, path + "/" + weight)[1].get("VARIABLE_VALUE")
            if key is not None:
                arrays[weight] = ckpt.tensor(key)
        layers.append((path, arrays))
        n += 1
    if not layers:
        raise CheckpointError("%s: the object graph has no layer_with_weights-N: not a Keras model's checkpoint"
                              % ckpt.index_name)
    return layers


# -------------------------------------------------------------------------------------------------
# keras-segmentation's checkpoints: PREFIX_config.json and PREFIX.<epoch>.{index,data-*}

_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")


def find_checkpoint(path):
    """(checkpoint prefix, keras-segmentation config path or None), or None if ``path`` names no
    checkpoint. Accepts ``P.N.index``, a data shard, ``P.N`` or keras-segmentation's
    ``checkpoints_path`` ``P``, for which the highest epoch N with a ``P.N.index`` is taken (what
    keras-segmentation's ``find_latest_checkpoint`` means to do)."""
    if path.endswith(".index") and os.path.isfile(path):
        prefix = path[: -len(".index")]
    elif _DATA_SUFFIX.search(path) and os.path.isfile(path):
        prefix = _DATA_SUFFIX.sub("", path)
    elif os.path.isfile(path + ".index"):
        prefix = path
    else:
        epochs = []
        for f in glob.glob(glob.escape(path) + ".*.index"):
            middle = f[len(path) + 1: -len(".index")]
            if middle.isascii() and middle.isdigit():  # int() refuses other digits, e.g. "²"
                epochs.append(int(middle))
        if not epochs:
            return None
        prefix = "%s.%d" % (path, max(epochs))
    stem = re.sub(r"\.\d+$", "", prefix)
    config = stem + "_config.json"
    return prefix, (config if os.path.isfile(config) else None)


def read_kseg_config(path):
    """keras-segmentation's ``PREFIX_config.json``: model_class, n_classes, input and output size."""
    try:
        with open(path) as fh:
            cfg = json.load(fh)
        if not isinstance(cfg, dict):
            raise ValueError("not a JSON object")
        for key in ("n_classes", "input_height", "input_width"):
            if key in cfg and not (isinstance(cfg[key], int) and cfg[key] > 0):
                raise ValueError("%s is %r, not a positive integer" % (key, cfg[key]))
    except (OSError, ValueError) as e:
        raise CheckpointError("%s: unreadable (%s)" % (os.path.basename(path), e))
    return cfg
