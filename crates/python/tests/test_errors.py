"""Bad input gets a Python exception that names the problem, never a Rust panic."""

import numpy as np
import pytest
from conftest import WEIGHTS

import mobilenet_unet

# pyo3 turns a Rust panic into pyo3_runtime.PanicException, a BaseException: a test that only
# caught Exception would let one through, so these catch BaseException and check the type.
ALLOWED = (TypeError, ValueError, OSError)


def _raises(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except BaseException as e:  # noqa: B902 - see ALLOWED
        assert isinstance(e, ALLOWED), "%s: %s" % (type(e).__name__, e)
        return e
    raise AssertionError("no exception")


def test_predict_wrong_dtype_is_type_error(model):
    for x in [np.zeros((1, 32, 32, 3)), np.zeros((1, 32, 32, 3), np.uint8),
              np.zeros((1, 32, 32, 3), np.float16), np.zeros((1, 32, 32, 3), ">f4")]:
        with pytest.raises(TypeError, match="float32"):
            model.predict(x)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        model.predict([[[[0.0, 0.0, 0.0]]]])


def test_predict_wrong_shape_is_value_error(model):
    cases = {
        (32, 32, 3): "4 dimensions",
        (1, 32, 32, 4): "3 channels",
        (1, 32, 32, 1): "3 channels",
        (1, 30, 32, 3): "multiple|not supported",
        (0, 32, 32, 3): "batch size is 0",
        (1, 0, 0, 3): "not supported",
    }
    for shape, msg in cases.items():
        with pytest.raises(ValueError, match=msg):
            model.predict(np.zeros(shape, np.float32))
    x = np.zeros((1, 32, 32, 3), np.float32)
    x[0, 3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        model.predict(x)


def test_missing_files_are_file_not_found(model, tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError):
        mobilenet_unet.Model.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        model.segment(missing)
    with pytest.raises(FileNotFoundError):
        model.predict_segmentation(inp=str(missing))
    with pytest.raises(FileNotFoundError):
        mobilenet_unet.read_image(missing)
    with pytest.raises(FileNotFoundError):
        mobilenet_unet.from_keras(tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError):
        model.evaluate_segmentation(inp_images_dir=str(tmp_path / "a"), annotations_dir=str(tmp_path / "b"))
    with pytest.raises(FileNotFoundError):
        mobilenet_unet.write_image(tmp_path / "no" / "dir.png", np.zeros((2, 2, 3), np.uint8))


def test_bad_files_are_value_errors(model, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ValueError, match="junk.safetensors"):
        mobilenet_unet.Model.load(junk)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(WEIGHTS.read_bytes()[:100000])
    with pytest.raises(ValueError):
        mobilenet_unet.Model.load(truncated)
    img = tmp_path / "junk.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="junk.png"):
        model.segment(img)
    with pytest.raises(ValueError):
        mobilenet_unet.from_keras(junk)


def test_precision_and_threads(tmp_path):
    for p in ("bf16", "int8"):
        with pytest.raises(ValueError, match="not available in this build"):
            mobilenet_unet.Model.load(WEIGHTS, precision=p)
        with pytest.raises(ValueError, match="not available in this build"):
            mobilenet_unet.Model.default(precision=p)
    with pytest.raises(ValueError, match="precision"):
        mobilenet_unet.Model.default(precision="f64")
    for t in (0, -1, 10**6):
        with pytest.raises(ValueError, match="threads"):
            mobilenet_unet.Model.default(threads=t)
    with pytest.raises(TypeError):
        mobilenet_unet.Model.default(threads="two")
    with pytest.raises(TypeError):
        mobilenet_unet.Model(None)


def test_segment_bad_images(model):
    with pytest.raises(TypeError, match="uint8"):
        model.segment(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="3 channels"):
        model.segment(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match="3 dimensions"):
        model.segment(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        model.segment(np.zeros((0, 5, 3), np.uint8))
    with pytest.raises(TypeError):
        model.segment(12)
    with pytest.raises(ValueError, match="h,w,3"):
        model.predict_segmentation(inp=np.zeros((8, 8), np.uint8))
    with pytest.raises(TypeError):
        model.predict_segmentation(inp=3.5)
    with pytest.raises(ValueError):
        model.predict_segmentation(inp=None)
    with pytest.raises(ValueError, match="colours"):
        model.predict_segmentation(inp=np.zeros((8, 8, 3), np.uint8), out_fname="/tmp/x.png",
                                   colors=[(1, 2, 3)])
    with pytest.raises(ValueError, match="positive integers"):
        model.predict_segmentation(inp=np.zeros((8, 8, 3), np.uint8), prediction_width=True,
                                   prediction_height=4)
    with pytest.raises(ValueError, match="no images"):
        model.evaluate_segmentation(inp_images=[], annotations=[])


def test_numpy_integer_sizes_are_sizes(model, tmp_path):
    # NumPy users' sizes are often np.int64 (from .shape arithmetic): accepted like int.
    out = tmp_path / "x.png"
    model.predict_segmentation(inp=np.zeros((8, 8, 3), np.uint8), out_fname=str(out),
                               prediction_width=np.int64(6), prediction_height=np.int32(5))
    assert mobilenet_unet.read_image(out).shape == (5, 6, 3)


def test_no_panic_reaches_python(model, tmp_path):
    """Every odd input we can think of, through every entry point: an exception of an allowed
    type each time (a PanicException would fail `_raises`)."""
    odd_arrays = [
        np.zeros((1, 16, 16, 3), np.float32)[:, :, :, :0],
        np.zeros((1, 1, 1, 3), np.float32),
        np.zeros((1, 16, 17, 3), np.float32),
        np.zeros((2, 16, 16, 3, 1), np.float32),
        np.full((1, 16, 16, 3), np.inf, np.float32),
        np.zeros((), np.float32),
        np.zeros((1, 16, 16, 3), np.complex64),
        np.array([["a"]]),
        np.zeros((1, 16, 16, 3), object),
    ]
    for x in odd_arrays:
        _raises(model.predict, x)
    for img in [np.zeros((1, 0, 3), np.uint8), np.zeros((0, 0, 3), np.uint8),
                np.zeros((4, 4, 3), np.int8), np.zeros((4, 4, 3, 1), np.uint8), "", b"x"]:
        _raises(model.segment, img)
    for data in [b"", b"\x00" * 8, b"\xff" * 8 + b"{}", WEIGHTS.read_bytes()[:-1]]:
        _raises(mobilenet_unet.Model.from_bytes, data)
    _raises(mobilenet_unet.write_image, tmp_path / "x.png", np.zeros((0, 4, 3), np.uint8))
    _raises(mobilenet_unet.write_image, tmp_path / "x.tiffx", np.zeros((4, 4, 3), np.uint8))
    _raises(mobilenet_unet.write_image, tmp_path / "x.png", np.zeros((4, 4, 2), np.uint8))
    _raises(mobilenet_unet.write_image, tmp_path / "x.png", np.zeros((4, 4), np.float32))
    _raises(model.predict_segmentation, inp=np.zeros((4, 4, 3), np.uint8), out_fname=str(tmp_path / "p.png"),
            prediction_width=0, prediction_height=0)
    ann = tmp_path / "ann.png"
    mobilenet_unet.write_image(ann, np.full((8, 8, 3), 9, np.uint8))
    e = _raises(model.evaluate_segmentation, inp_images=[np.zeros((8, 8, 3), np.uint8)], annotations=[str(ann)])
    assert "class 9" in str(e)
    _raises(model.evaluate_segmentation, inp_images=[str(ann)], annotations=[])
