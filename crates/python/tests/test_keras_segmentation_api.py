"""keras-segmentation 0.3.0's calls: predict_segmentation, predict_multiple,
evaluate_segmentation, with its arguments and return values."""

import json

import numpy as np
from conftest import TEST_SET, preprocess, run_cli

import mobilenet_unet
from mobilenet_unet import KERAS_SEGMENTATION_COLORS


def _at_input_size(model, test_images):
    """A test image already at the model's input size (no resize: preprocessing is exact)."""
    for path in test_images:
        rgb = mobilenet_unet.read_image(path)
        if rgb.shape[:2] == model.input_size:
            return path, rgb
    raise AssertionError("no test image has the model's input size %s" % (model.input_size,))


def test_attributes(model):
    assert model.n_classes == len(model.class_names) == 4
    assert (model.output_height, model.output_width) == (model.input_height // 2, model.input_width // 2)
    assert model.preprocessing in ("sub_mean", "divide", "sub_and_divide")
    assert model.resize in ("cv2_linear", "antialias")
    assert model.label_resize in ("cv2_nearest", "centre")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == "Image pipeline: resize %s -> preprocessing %s -> model -> label_resize %s" % (
        model.resize, model.preprocessing, model.label_resize)
    assert any("conv_dw_1" in line for line in lines) and len(lines) > 30
    assert "mobilenet_unet.Model" in repr(model)


def test_keras_colors_are_keras_segmentations():
    # random.seed(0); [(randint(0,255),)*3 ...]: its first colours, as keras-segmentation prints
    import random
    r = random.Random(0)
    assert KERAS_SEGMENTATION_COLORS[:3] == [(r.randint(0, 255), r.randint(0, 255),
                                              r.randint(0, 255)) for _ in range(3)]
    assert len(KERAS_SEGMENTATION_COLORS) == 5000


def test_predict_segmentation_is_argmax_of_predict(model, test_images):
    path, rgb = _at_input_size(model, test_images)
    x = preprocess(rgb, model.preprocessing)[None]
    expected = model.predict(x)[0].reshape(model.output_height, model.output_width, -1).argmax(-1)
    pr = model.predict_segmentation(inp=str(path))
    assert pr.dtype == np.int64 and pr.shape == (model.output_height, model.output_width)
    assert np.array_equal(pr, expected)
    # keras-segmentation's arrays are cv2 images: BGR
    assert np.array_equal(model.predict_segmentation(inp=rgb[:, :, ::-1]), pr)
    assert np.array_equal(model.predict_segmentation(inp=path), pr)  # os.PathLike too


def test_predict_segmentation_writes_keras_segmentations_picture(model, test_images, tmp_path):
    path = test_images[0]
    rgb = mobilenet_unet.read_image(path)
    out = tmp_path / "seg.png"
    model.predict_segmentation(inp=str(path), out_fname=str(out))
    picture = mobilenet_unet.read_image(out)
    classes = model.segment(path)
    lut_rgb = np.array(KERAS_SEGMENTATION_COLORS[:model.n_classes], dtype=np.uint8)[:, ::-1]
    assert picture.shape == rgb.shape
    assert np.array_equal(picture, lut_rgb[classes])

    model.predict_segmentation(inp=str(path), out_fname=str(out), overlay_img=True)
    overlay = mobilenet_unet.read_image(out)
    assert np.array_equal(overlay, (rgb / 2 + lut_rgb[classes] / 2).astype(np.uint8))

    model.predict_segmentation(inp=str(path), out_fname=str(out), show_legends=True,
                               class_names=["bg", "c", "r", "t"], prediction_width=96,
                               prediction_height=80)
    legend = mobilenet_unet.read_image(out)
    assert legend.shape == (max(80, 4 * 25 + 25), 125 + 96, 3)
    # the colour squares of the legend, at x 100..124, one per 25-pixel row
    for c in range(4):
        assert (legend[c * 25 + 12, 110] == lut_rgb[c]).all()
    assert (legend[:, 5:90] < 128).any(), "the legend has no text"

    jpg = tmp_path / "seg.jpg"
    model.predict_segmentation(inp=str(path), out_fname=str(jpg), colors=[(0, 0, 0)] * 3 + [(255,) * 3])
    assert mobilenet_unet.read_image(jpg).shape == rgb.shape


def test_predict_multiple(model, test_images, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for p in test_images[:5]:
        (src / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    prs = model.predict_multiple(inp_dir=str(src), out_dir=str(out))
    assert len(prs) == 5
    for p, pr in zip(sorted(src.glob("*.png")), prs):
        assert np.array_equal(pr, model.predict_segmentation(inp=str(p)))
        assert (out / p.name).exists()
    arrays = [mobilenet_unet.read_image(p)[:, :, ::-1] for p in sorted(src.glob("*.png"))[:2]]
    prs2 = model.predict_multiple(inps=arrays, out_dir=str(out))
    assert all(np.array_equal(a, b) for a, b in zip(prs2, prs[:2]))
    assert (out / "0.jpg").exists() and (out / "1.jpg").exists()


def test_evaluate_segmentation_matches_cli_eval(model):
    """IoU per class equals the CLI's `eval` (same label scaling at the output size)."""
    res = model.evaluate_segmentation(inp_images_dir=str(TEST_SET / "images"),
                                      annotations_dir=str(TEST_SET / "labels"))
    assert set(res) == {"frequency_weighted_IU", "mean_IU", "class_wise_IU"}
    cli = json.loads(run_cli("eval", "--json"))
    cli_iou = np.array([cli["class_iou"][n] for n in model.class_names])
    print("evaluate_segmentation mean_IU %.6f, CLI eval mean IoU %.6f"
          % (res["mean_IU"], cli["mean_iou"]))
    assert np.allclose(res["class_wise_IU"], cli_iou, rtol=0, atol=1e-9)
    assert abs(res["mean_IU"] - cli["mean_iou"]) < 1e-9
    assert 0 < res["frequency_weighted_IU"] <= 1


def test_evaluate_segmentation_from_lists(model, test_images):
    labels = [TEST_SET / "labels" / p.name for p in test_images[:4]]
    a = model.evaluate_segmentation(inp_images=[str(p) for p in test_images[:4]],
                                    annotations=[str(p) for p in labels])
    b = model.evaluate_segmentation(
        inp_images=[mobilenet_unet.read_image(p)[:, :, ::-1] for p in test_images[:4]],
        annotations=[mobilenet_unet.read_image(p)[:, :, ::-1] for p in labels])
    assert np.array_equal(a["class_wise_IU"], b["class_wise_IU"])
