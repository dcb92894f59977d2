#!/usr/bin/env python3
"""Tests of tf_checkpoint.py and of convert_keras.py's checkpoint path, without TensorFlow.

    python3 -m unittest discover -s tools -p 'test_tf_checkpoint.py'   # numpy + h5py only

Reads the committed checkpoint ``tools/testdata/tf_checkpoint/tiny.2`` (written by TensorFlow
2.15's ``save_weights``; regenerate with ``kseg_checkpoint_fixture.py small``) and checks every
variable against what Keras held, then damages copies of it: flipped bytes, a truncated shard,
an index entry with a wrong crc32c, a missing shard. Each must fail with one line naming the file
and the tensor. A synthetic checkpoint of the seed's whole network (written here the way tf.keras
lays it out, with a small SSTable writer) converts from its prefix to exactly its tensors.
(keras-segmentation's real model is checked by ``kseg_checkpoint_fixture.py full``, which needs
TensorFlow.)
"""

import contextlib
import io
import os
import shutil
import struct
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import tf_checkpoint as tc  # noqa: E402

FIXTURE = os.path.join(HERE, "testdata", "tf_checkpoint")
PREFIX = os.path.join(FIXTURE, "tiny.2")
SHARD = ".data-00000-of-00001"


def slow_crc32c(data):
    """Bit-at-a-time crc32c: the oracle for the vectorised one."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def block(entries):
    """An uncompressed table block, every entry a restart point, with its 5-byte trailer."""
    body, restarts = bytearray(), []
    for key, value in entries:
        restarts.append(len(body))
        body += varint(0) + varint(len(key)) + varint(len(value)) + key + value
    for r in restarts:
        body += struct.pack("<I", r)
    body += struct.pack("<I", len(restarts))
    return bytes(body) + b"\0" + struct.pack("<I", tc.mask_crc(tc.crc32c(bytes(body) + b"\0")))


def write_index(path, entries, per_block=None):
    """A LevelDB table holding ``entries`` ({str key: bytes}), ``per_block`` entries per data
    block (default: all in one, as TensorFlow wrote the fixture's)."""
    items = sorted((k.encode(), v) for k, v in entries.items())
    per_block = per_block or len(items)
    data, index_entries = b"", []
    for i in range(0, len(items), per_block):
        chunk = items[i:i + per_block]
        blk = block(chunk)
        index_entries.append((chunk[-1][0], varint(len(data)) + varint(len(blk) - 5)))
        data += blk
    meta = block([])
    index = block(index_entries)
    meta_off, index_off = len(data), len(data) + len(meta)
    handles = varint(meta_off) + varint(len(meta) - 5) + varint(index_off) + varint(len(index) - 5)
    footer = handles.ljust(40, b"\0") + struct.pack("<Q", tc.TABLE_MAGIC)
    with open(path, "wb") as fh:
        fh.write(data + meta + index + footer)


def raw_index():
    return tc.read_index(PREFIX + ".index")


def entry_bytes(fields):
    """Serialise a BundleEntryProto from [(field, int or bytes)]."""
    out = bytearray()
    for f, v in fields:
        if isinstance(v, bytes):
            out += varint(f << 3 | 2) + varint(len(v)) + v
        elif f == 6:
            out += varint(f << 3 | 5) + struct.pack("<I", v)
        else:
            out += varint(f << 3) + varint(v)
    return bytes(out)


class Crc32c(unittest.TestCase):
    def test_known_value(self):
        self.assertEqual(tc.crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(tc.crc32c(b""), 0)

    def test_against_bitwise_oracle(self):
        rng = np.random.default_rng(3)
        for n in (1, 2, 63, 64, 65, 127, 128, 1000, 4097, 70001):
            data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            self.assertEqual(tc.crc32c(data), slow_crc32c(data), "length %d" % n)

    def test_mask_round_trip(self):
        for c in (0, 1, 0xFFFFFFFF, 0xE3069283):
            self.assertEqual(tc.unmask_crc(tc.mask_crc(c)), c)


class ReadFixture(unittest.TestCase):
    def test_every_variable_as_keras_held_it(self):
        expected = np.load(os.path.join(FIXTURE, "tiny_expected.npz"))
        layers = tc.keras_weighted_layers(tc.Checkpoint(PREFIX))
        self.assertEqual(len(layers), 21)
        seen = set()
        for path, arrays in layers:
            for weight, value in arrays.items():
                key = "%s/%s" % (path, weight)
                np.testing.assert_array_equal(value, expected[key], err_msg=key)
                self.assertEqual(value.dtype, np.float32)
                seen.add(key)
        self.assertEqual(seen, set(expected.files))  # nothing missed, no optimizer slot read

    def test_every_tensor_checks_out(self):
        ckpt = tc.Checkpoint(PREFIX)
        self.assertEqual(ckpt.num_shards, 1)
        self.assertGreater(len(ckpt.entries), 100)  # weights + Adam's slots + counters
        for name in ckpt.entries:
            ckpt.raw_bytes(name)
        self.assertEqual(int(ckpt.tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")), 2)


class Damaged(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tfckpt_")
        self.prefix = os.path.join(self.dir, "m.1")
        for ext in (".index", SHARD):
            shutil.copy(PREFIX + ext, self.prefix + ext)
        self.ckpt = tc.Checkpoint(PREFIX)
        self.kernel = "layer_with_weights-4/kernel/.ATTRIBUTES/VARIABLE_VALUE"

    def tearDown(self):
        shutil.rmtree(self.dir)

    def fails(self, *needles):
        with self.assertRaises(tc.CheckpointError) as cm:
            tc.keras_weighted_layers(tc.Checkpoint(self.prefix))
        msg = str(cm.exception)
        self.assertNotIn("\n", msg)
        for n in needles:
            self.assertIn(n, msg)
        return msg

    def test_flipped_byte_in_a_kernel(self):
        e = self.ckpt.entries[self.kernel]
        with open(self.prefix + SHARD, "r+b") as fh:
            fh.seek(e.offset + e.size // 2)
            b = fh.read(1)
            fh.seek(e.offset + e.size // 2)
            fh.write(bytes([b[0] ^ 0x10]))
        self.fails("m.1" + SHARD, self.kernel, "crc32c")

    def test_flipped_byte_in_the_object_graph(self):
        e = self.ckpt.entries[tc.OBJECT_GRAPH_KEY]
        with open(self.prefix + SHARD, "r+b") as fh:
            fh.seek(e.offset + e.size - 3)
            fh.write(b"\xff")
        self.fails("m.1" + SHARD, tc.OBJECT_GRAPH_KEY, "crc32c")

    def test_flipped_byte_in_the_index(self):
        with open(self.prefix + ".index", "r+b") as fh:
            fh.seek(40)
            b = fh.read(1)
            fh.seek(40)
            fh.write(bytes([b[0] ^ 0x01]))
        self.fails("m.1.index", "corrupt")

    def test_truncated_shard(self):
        e = self.ckpt.entries[self.kernel]
        with open(self.prefix + SHARD, "r+b") as fh:
            fh.truncate(e.offset + 10)
        # The object graph is written last, so it is the first casualty...
        self.fails("m.1" + SHARD, "truncated", tc.OBJECT_GRAPH_KEY)
        # ...and a kernel past the cut names itself.
        with self.assertRaises(tc.CheckpointError) as cm:
            tc.Checkpoint(self.prefix).tensor(self.kernel)
        self.assertIn("truncated: tensor %r" % self.kernel, str(cm.exception))

    def test_truncated_index(self):
        with open(self.prefix + ".index", "r+b") as fh:
            fh.truncate(os.path.getsize(self.prefix + ".index") // 2)
        self.fails("m.1.index", "truncated")

    def test_wrong_crc_in_the_index(self):
        entries = raw_index()
        e = self.ckpt.entries[self.kernel]
        entries[self.kernel] = entry_bytes([(1, 1), (2, tc.proto_fields(entries[self.kernel])[1][1]),
                                            (4, e.offset), (5, e.size), (6, tc.mask_crc(12345))])
        write_index(self.prefix + ".index", entries)
        self.fails("m.1" + SHARD, self.kernel, "0x00003039")

    def test_missing_shard(self):
        os.remove(self.prefix + SHARD)
        self.fails("m.1" + SHARD, "missing", "shard 0 of 1")

    def test_missing_second_shard(self):
        entries = raw_index()
        header = entry_bytes([(1, 2)])  # BundleHeaderProto: num_shards 2
        entries[""] = header
        e = self.ckpt.entries[self.kernel]
        entries[self.kernel] = entry_bytes([(1, 1), (2, tc.proto_fields(entries[self.kernel])[1][1]),
                                            (3, 1), (4, 0), (5, e.size), (6, e.crc32c)])
        write_index(self.prefix + ".index", entries)
        os.rename(self.prefix + SHARD, self.prefix + ".data-00000-of-00002")
        self.fails("m.1.data-00001-of-00002", "missing", self.kernel)

    def test_rewritten_index_reads_back(self):
        # The writer above is only a valid oracle if an unchanged rewrite reads the same; with
        # several data blocks it also walks the index block's handles (TensorFlow put this
        # small checkpoint's 122 entries in one block).
        b = tc.keras_weighted_layers(self.ckpt)
        for per_block in (None, 1, 7):
            write_index(self.prefix + ".index", raw_index(), per_block)
            self.assertEqual(tc.read_index(self.prefix + ".index"), raw_index())
            a = tc.keras_weighted_layers(tc.Checkpoint(self.prefix))
            self.assertEqual([p for p, _ in a], [p for p, _ in b])
            for (_, x), (_, y) in zip(a, b):
                for w in y:
                    np.testing.assert_array_equal(x[w], y[w])


class Paths(unittest.TestCase):
    """keras-segmentation's names: P_config.json, P.0.*, P.1.*, ... (the highest epoch wins)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tfckpt_")
        self.p = os.path.join(self.dir, "mobilenet_unet_1")
        for epoch in (0, 1, 10, 2):
            for ext in (".index", SHARD):
                shutil.copy(PREFIX + ext, "%s.%d%s" % (self.p, epoch, ext))
        with open(self.p + "_config.json", "w") as fh:
            fh.write('{"model_class": "mobilenet_unet", "n_classes": 3, "input_height": 224, '
                     '"input_width": 224, "output_height": 112, "output_width": 112}')

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_forms(self):
        cfg = self.p + "_config.json"
        self.assertEqual(tc.find_checkpoint(self.p), (self.p + ".10", cfg))
        self.assertEqual(tc.find_checkpoint(self.p + ".2"), (self.p + ".2", cfg))
        self.assertEqual(tc.find_checkpoint(self.p + ".2.index"), (self.p + ".2", cfg))
        self.assertEqual(tc.find_checkpoint(self.p + ".1" + SHARD), (self.p + ".1", cfg))
        self.assertIsNone(tc.find_checkpoint(self.p + "_other"))
        self.assertEqual(tc.read_kseg_config(cfg)["n_classes"], 3)

    def test_bad_config(self):
        with open(self.p + "_config.json", "w") as fh:
            fh.write('{"n_classes": "three"}')
        with self.assertRaises(tc.CheckpointError) as cm:
            tc.read_kseg_config(self.p + "_config.json")
        self.assertIn("mobilenet_unet_1_config.json", str(cm.exception))


def run_convert(*argv):
    """convert_keras.main, quiet: (exit status, stderr)."""
    import convert_keras
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = convert_keras.main(list(argv) + ["-q"])
    return rc, err.getvalue()


def string_tensor_bytes(data):
    """A scalar DT_STRING tensor as TensorFlow 2 writes it, and its entry crc32c."""
    length_crc = tc.mask_crc(tc.crc32c(struct.pack("<I", len(data))))
    blob = varint(len(data)) + struct.pack("<I", length_crc) + data
    crc = tc.crc32c(struct.pack("<I", len(data)) + struct.pack("<I", length_crc) + data)
    return blob, crc


def message(fields):
    """Serialise [(field, int | bytes | str)] (strings and sub-messages length-delimited)."""
    out = bytearray()
    for f, v in fields:
        if isinstance(v, str):
            v = v.encode()
        if isinstance(v, bytes):
            out += varint(f << 3 | 2) + varint(len(v)) + v
        else:
            out += varint(f << 3) + varint(v)
    return bytes(out)


def write_keras_checkpoint(prefix, layers, extra=()):
    """A tf.keras-style object-based checkpoint: root -> layer_with_weights-N -> variables,
    each variable's VARIABLE_VALUE naming its tensor; ``extra`` tensors (optimizer state) are
    stored but hang off no layer. ``layers`` is [{weight: float32 array}] in model order."""
    nodes, data, entries = [[]], bytearray(), {"": message([(1, 1)])}

    def add_tensor(key, array, dtype):
        blob = np.ascontiguousarray(array).tobytes()
        shape = message([(2, message([(1, d)])) for d in array.shape])
        entries[key] = entry_bytes([(1, dtype), (2, shape), (4, len(data)), (5, len(blob)),
                                    (6, tc.mask_crc(tc.crc32c(blob)))])
        data.extend(blob)

    for n, arrays in enumerate(layers):
        layer_children = []
        layer_id = len(nodes)
        nodes.append(layer_children)
        nodes[0].append((1, message([(1, layer_id), (2, "layer_with_weights-%d" % n)])))
        for weight, array in arrays.items():
            key = "layer_with_weights-%d/%s/.ATTRIBUTES/VARIABLE_VALUE" % (n, weight)
            var_id = len(nodes)
            nodes.append([(2, message([(1, "VARIABLE_VALUE"), (2, weight), (3, key)]))])
            layer_children.append((1, message([(1, var_id), (2, weight)])))
            add_tensor(key, array.astype("<f4"), 1)
    for key, array in extra:
        add_tensor(key, array, 9)
    graph = message([(1, message(node)) for node in nodes])
    blob, crc = string_tensor_bytes(graph)
    entries[tc.OBJECT_GRAPH_KEY] = entry_bytes([(1, tc.DT_STRING), (2, b""), (4, len(data)),
                                                (5, len(blob)), (6, tc.mask_crc(crc))])
    data.extend(blob)
    write_index(prefix + ".index", entries)
    with open(prefix + SHARD, "wb") as fh:
        fh.write(bytes(data))


def read_safetensors(path):
    import json
    with open(path, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"])
    return out, meta


class SeedCheckpoint(unittest.TestCase):
    """The whole path without TensorFlow: a keras-segmentation-shaped checkpoint (the seed's 55
    weighted layers at alpha 0.25, optimizer state beside them, two epochs, P_config.json)
    converted from its prefix, every tensor compared with what was written."""

    def seed_layers(self, rng):
        import convert_keras as ck
        shapes = ck.expected_shapes(0.25, 3, True)
        layers, named = [], {}
        for kind, name in ck.canonical_layers():
            weights = ck.BN_VARS if kind == "bn" else ("kernel", "bias") if name.startswith(("dec", "logits")) else ("kernel",)
            arrays = {}
            for w in weights:
                a = rng.uniform(0.5, 1.5, shapes["%s/%s" % (name, w)]).astype(np.float32)
                arrays["depthwise_kernel" if kind == "dw" else w] = a
                named["%s/%s" % (name, w)] = a
            layers.append(arrays)
        return layers, named

    def test_prefix_converts_its_highest_epoch(self):
        d = tempfile.mkdtemp(prefix="tfckpt_")
        try:
            p = os.path.join(d, "mobilenet_unet_1")
            rng = np.random.default_rng(5)
            old, _ = self.seed_layers(rng)
            write_keras_checkpoint(p + ".0", old)
            layers, named = self.seed_layers(rng)
            slots = [("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", np.array(12, "<i8"))]
            write_keras_checkpoint(p + ".1", layers, slots)
            with open(p + "_config.json", "w") as fh:
                fh.write('{"model_class": "mobilenet_unet", "n_classes": 3, "input_height": 96, '
                         '"input_width": 160, "output_height": 48, "output_width": 80}')
            out = os.path.join(d, "out.safetensors")
            rc, err = run_convert(p, out)
            self.assertEqual((rc, err), (0, ""))
            got, meta = read_safetensors(out)
            self.assertEqual(set(got), set(named))
            for k, a in named.items():
                np.testing.assert_array_equal(got[k], a, err_msg=k)
            self.assertEqual((meta["input_height"], meta["input_width"], meta["n_classes"]), ("96", "160", "3"))
            self.assertEqual((meta["alpha"], meta["resize"], meta["label_resize"]),
                             ("0.25", "cv2_linear", "cv2_nearest"))
            # The config's class count is checked against the logits.
            with open(p + "_config.json", "w") as fh:
                fh.write('{"model_class": "mobilenet_unet", "n_classes": 5}')
            rc, err = run_convert(p + ".1.index", out)
            self.assertEqual(rc, 1)
            self.assertIn("5 classes", err)
        finally:
            shutil.rmtree(d)
        self.assertNotIn("tensorflow", sys.modules)


class Malformed(unittest.TestCase):
    """Checksums that hold over messages that do not: a CheckpointError naming the file, never
    an IndexError or TypeError from deep inside the reader."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tfckpt_")
        self.prefix = os.path.join(self.dir, "m.1")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, entries, shard=b""):
        write_index(self.prefix + ".index", entries)
        with open(self.prefix + SHARD, "wb") as fh:
            fh.write(shard)

    def test_entry_offset_written_as_a_string(self):
        self.write({"": message([(1, 1)]), "w": entry_bytes([(1, 1), (4, b"x"), (5, 0)])})
        with self.assertRaisesRegex(tc.CheckpointError, r"^m\.1\.index: corrupt entry \(field 4"):
            tc.Checkpoint(self.prefix)

    def test_layer_pointing_past_the_object_graph(self):
        graph = message([(1, message([(1, message([(1, 99), (2, "layer_with_weights-0")]))]))])
        blob, crc = string_tensor_bytes(graph)
        entry = entry_bytes([(1, tc.DT_STRING), (2, b""), (4, 0), (5, len(blob)), (6, tc.mask_crc(crc))])
        self.write({"": message([(1, 1)]), tc.OBJECT_GRAPH_KEY: entry}, blob)
        with self.assertRaisesRegex(tc.CheckpointError, "layer_with_weights-0 points to node 99 of 1"):
            tc.keras_weighted_layers(tc.Checkpoint(self.prefix))

    def test_object_graph_name_written_as_a_number(self):
        graph = message([(1, message([(1, message([(1, 1), (2, 7)]))]))])
        blob, crc = string_tensor_bytes(graph)
        entry = entry_bytes([(1, tc.DT_STRING), (2, b""), (4, 0), (5, len(blob)), (6, tc.mask_crc(crc))])
        self.write({"": message([(1, 1)]), tc.OBJECT_GRAPH_KEY: entry}, blob)
        with self.assertRaisesRegex(tc.CheckpointError, "is malformed .field 2 should be a string"):
            tc.keras_weighted_layers(tc.Checkpoint(self.prefix))

    def test_non_ascii_digit_epochs_are_not_epochs(self):
        shutil.copy(PREFIX + ".index", os.path.join(self.dir, "m.\u00b2.index"))
        self.assertIsNone(tc.find_checkpoint(os.path.join(self.dir, "m")))


class Converter(unittest.TestCase):
    """convert_keras.py on checkpoints: one line, exit status 1, never TensorFlow."""

    def test_errors_are_one_line(self):
        d = tempfile.mkdtemp(prefix="tfckpt_")
        try:
            p = os.path.join(d, "m.1")
            for ext in (".index", SHARD):
                shutil.copy(PREFIX + ext, p + ext)
            out = os.path.join(d, "out.safetensors")
            # Not the seed's network: a clear layer-count error.
            rc, err = run_convert(p, out)
            self.assertEqual(rc, 1)
            self.assertIn("conv layers", err)
            with open(p + SHARD, "r+b") as fh:
                fh.truncate(1000)
            rc, err = run_convert(os.path.join(d, "m"), out)
            self.assertEqual((rc, err.count("\n")), (1, 1), err)
            self.assertIn("m.1" + SHARD + ": truncated", err)
            self.assertFalse(os.path.exists(out))
        finally:
            shutil.rmtree(d)
        self.assertNotIn("tensorflow", sys.modules)


if __name__ == "__main__":
    unittest.main()
