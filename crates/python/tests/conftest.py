"""Shared helpers of the package's tests: where the repository's files are, the Rust command
line to compare with, and a numpy-only safetensors reader for the Keras fixtures."""

import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mobilenet_unet

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "crates" / "verify" / "fixtures"
TEST_SET = ROOT / "data" / "test"
WEIGHTS = ROOT / "weights" / "mobilenet_unet_shapes.safetensors"
KERAS_CASES = ["a025_k3_64x64", "a025_k4_96x160_relu_l1", "a050_k5_64x96_b2", "a100_k2_64x64"]

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """({name: array}, metadata) of a safetensors file, with numpy only."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, h in header.items():
        begin, end = h["data_offsets"]
        dtype = np.dtype(_ST_DTYPES[h["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype=dtype).reshape(h["shape"])
    return tensors, meta


def cli_path():
    """The Rust command line (`cargo build --release -p mobilenet-unet-cli` builds it)."""
    path = Path(os.environ.get("MOBILENET_UNET_CLI", ROOT / "target" / "release" / "mobilenet-unet"))
    if not path.exists():
        pytest.fail("%s is missing: run `cargo build --release -p mobilenet-unet-cli` "
                    "(or set MOBILENET_UNET_CLI)" % path)
    return path


def run_cli(*args):
    """Runs the command line, failing the test with its stderr if it fails."""
    r = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("mobilenet-unet %s failed: %s" % (" ".join(map(str, args)), r.stderr))
    return r.stdout


def preprocess(rgb, mode):
    """keras-segmentation's get_image_array after the resize, on an RGB uint8 image, as the
    engine's Preprocessing does it (float32 arithmetic)."""
    x = rgb.astype(np.float32)
    if mode == "sub_mean":
        return x - np.array([123.68, 116.779, 103.939], dtype=np.float32)
    if mode == "divide":
        return x / np.float32(255.0)
    return x / np.float32(127.5) - np.float32(1.0)


@pytest.fixture(scope="session")
def model():
    return mobilenet_unet.Model.default()


@pytest.fixture(scope="session")
def test_images():
    images = sorted((TEST_SET / "images").glob("*.png"))
    assert len(images) >= 64, "data/test/images holds %d images" % len(images)
    return images
