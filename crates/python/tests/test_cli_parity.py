"""The package and the Rust command line give the same bits on the same input."""

import numpy as np
from conftest import TEST_SET, WEIGHTS, read_safetensors, run_cli  # noqa: F401

import mobilenet_unet


def _random_input(shape, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 60).astype(np.float32)


def test_predict_equals_cli_infer(model, tmp_path):
    for i, shape in enumerate([(1, 224, 224, 3), (2, 64, 96, 3), (1, 128, 128, 3)]):
        x = _random_input(shape, i)
        np.save(tmp_path / "x.npy", x)
        run_cli("infer", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
        cli = np.load(tmp_path / "y.npy")
        ours = model.predict(x)
        assert ours.dtype == np.float32 and ours.shape == cli.shape
        diff = np.abs(ours - cli).max()
        print("infer %s: CLI vs Python max |diff| = %g, bit-identical: %s"
              % (shape, diff, np.array_equal(ours, cli)))
        assert np.array_equal(ours, cli), "differs from the CLI by up to %g" % diff


def test_loaded_file_equals_cli_with_weights(tmp_path):
    model = mobilenet_unet.Model.load(WEIGHTS, threads=1)
    x = _random_input((1, 96, 160, 3), 7)
    np.save(tmp_path / "x.npy", x)
    run_cli("infer", "--weights", WEIGHTS, "--input", tmp_path / "x.npy",
            "--output", tmp_path / "y.npy", "--threads", "1")
    assert np.array_equal(model.predict(x), np.load(tmp_path / "y.npy"))


def test_segment_equals_cli_masks(model, tmp_path, test_images):
    """`segment` gives the class maps the CLI writes as palette PNG masks."""
    picked = test_images[:6]
    run_cli("segment", *picked, "-o", tmp_path)
    for path in picked:
        mask = mobilenet_unet.read_image(tmp_path / (path.stem + "_mask.png"))
        # The palette PNG stores class indices; decoding expands them to colours, so map
        # each colour back to its class through the model's palette.
        palette = np.array(model.class_colors, dtype=np.uint8)
        ours = model.segment(path)
        assert ours.dtype == np.uint16
        assert np.array_equal(palette[ours], mask), path.name
