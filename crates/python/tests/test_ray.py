"""examples/ray_segment.py on a local Ray (2 CPUs, 2 workers): every mask equals what one
process's Model.segment gives."""

import importlib.util

import numpy as np
from conftest import ROOT

import mobilenet_unet


def _example():
    spec = importlib.util.spec_from_file_location("ray_segment", ROOT / "examples" / "ray_segment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ray_masks_equal_one_process(model, test_images, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for p in test_images[:64]:
        (images / p.name).write_bytes(p.read_bytes())
    # and a few of other sizes, so batches mix shapes
    for i, p in enumerate(test_images[64:72]):
        rgb = mobilenet_unet.read_image(p)
        mobilenet_unet.write_image(images / ("crop_%d.png" % i), rgb[: 60 + 7 * i, : 90 - 5 * i])
    import ray  # installed by crates/python/ci.sh (requirements-ci.txt)

    expected = {p.name: model.segment(p) for p in images.iterdir()}
    assert len(expected) == 72

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        done = _example().segment_folder(images, tmp_path / "masks", workers=2, batch_size=8)
    finally:
        ray.shutdown()
    assert len(done) == 72
    for name, classes in expected.items():
        mask = tmp_path / "masks" / (name.rsplit(".", 1)[0] + ".png")
        got = mobilenet_unet.read_image(mask)[:, :, 0]
        assert got.shape == classes.shape, name
        assert np.array_equal(got, classes.astype(np.uint8)), name
