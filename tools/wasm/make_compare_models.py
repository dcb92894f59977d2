#!/usr/bin/env python3
"""Writes the models of the browser comparison (docs/src/try/compare.html) into
docs/src/try/pkg/compare/ (git-ignored; about 30 MB, so generated rather than committed):

* ``seed_224.safetensors`` and ``seed_224.onnx``: the seed's network (alpha 1.0, 2 classes, no
  l1 skip, decoder without activation) at 224x224 with seeded random weights, the *same*
  weights in both files (``tools/compare_engines.py``'s ``random_weights`` and ``build_onnx``,
  which the native comparison uses too);
* ``shipped_128.onnx``: the default model (``weights/mobilenet_unet_shapes.safetensors``: alpha
  0.5, 4 classes, l1 skip, ReLU decoder) at 128x128, from that file's float16 tensors widened
  to float32, which is what our engine does when it loads them.

Needs numpy and onnx (``tools/wasm/requirements-onnx.txt``); ``tools/compare-browser.sh`` makes
the venv.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent.parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))

import compare_engines as ce  # noqa: E402
from st_write import save_safetensors  # noqa: E402

SEED = 0  # tools/compare_engines.py's default --seed: the same weights as the native comparison
DTYPES = {"F16": np.float16, "F32": np.float32}


def read_safetensors(path):
    """(tensors as float32 arrays, metadata) of a safetensors file."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=np.dtype(DTYPES[t["dtype"]]).newbyteorder("<"))
        tensors[name] = a.reshape(t["shape"]).astype(np.float32)
    return tensors, meta


def main():
    out = REPO / "docs/src/try/pkg/compare"
    out.mkdir(parents=True, exist_ok=True)

    weights = ce.random_weights(SEED)
    save_safetensors(out / "seed_224.safetensors", weights, metadata=ce.safetensors_metadata((224, 224)))
    ce.build_onnx(weights, (224, 224), out / "seed_224.onnx")

    shipped, meta = read_safetensors(REPO / "weights/mobilenet_unet_shapes.safetensors")
    ce.build_onnx(shipped, (128, 128), out / "shipped_128.onnx", n_classes=int(meta["n_classes"]),
                  l1_skip=meta["l1_skip_conn"] == "true",
                  decoder_activation=meta["decoder_activation"])
    for f in sorted(out.iterdir()):
        print("%s: %d bytes" % (f.relative_to(REPO), f.stat().st_size))


if __name__ == "__main__":
    main()
