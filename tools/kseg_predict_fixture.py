#!/usr/bin/env python3
"""What keras-segmentation 0.3.0's own `predict_segmentation` makes of images of several sizes.

    .venv-kseg/bin/python tools/kseg_predict_fixture.py
        -> crates/model/tests/fixtures/kseg/{WxH.png, ..., kseg_predict.safetensors}

The model is keras-segmentation's ``get_segmentation_model`` wrapper (which gives it
``predict_segmentation``) over its ``_unet`` decoder with ReLU after each decoder convolution (as
keras-segmentation's later releases have it, and as the shapes model was trained) and an encoder
assembled from its own ``_conv_block`` / ``_depthwise_conv_block`` (its ``get_mobilenet_encoder``
fixes alpha 1 and 224x224; this one takes the shapes model's alpha 0.5 and 128x128), loaded with
the committed weights ``weights/mobilenet_unet_shapes.safetensors``.
The shapes model was trained on ``rgb / 255``; keras-segmentation feeds ``rgb - mean``, so
:func:`fold_divide_into_sub_mean` rewrites conv1 and conv1_bn to compute the same thing from
``rgb - mean`` (exact away from the image border, where the zero padding now stands for the mean
colour) — otherwise nearly every pixel is background and the masks test little.
So these weights run with ``decoder_activation relu``, ``preprocessing sub_mean``,
``resize cv2_linear`` and ``label_resize cv2_nearest``: crates/model/tests/kseg_predict.rs applies the same fold to the
same file and sets that metadata.

For each committed image (drawn here, PNG, sizes from the model's own to 640x480) the
safetensors file records, under ``<W>x<H>/``: ``input`` = ``get_image_array(path, 128, 128,
ordering="channels_last")`` (float32 [128, 128, 3]), ``model_map`` = what ``predict_segmentation``
returns (uint16 [64, 64]), and ``margin`` = the gap between the two highest probabilities
(float32 [64, 64]) so the test can tell a clear pixel from a near tie.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
OUT = os.path.join(ROOT, "crates", "model", "tests", "fixtures", "kseg")
WEIGHTS = os.path.join(ROOT, "weights", "mobilenet_unet_shapes.safetensors")
SIZES = [(128, 128), (256, 256), (300, 200), (640, 480), (150, 400), (97, 61)]  # (W, H)


def fnv1a64(data):
    """FNV-1a, 64-bit: the fixture records which weights it was made with (the test checks)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def draw_image(w, h, seed):
    """Filled shapes on a smooth background with a noisy band: flat areas, edges, texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([80 + 100 * xx / w, 60 + 120 * yy / h, 140 - 60 * (xx + yy) / (w + h)], -1)
    band = slice(h // 3, h // 3 + max(2, h // 10))
    img[band] += rng.normal(0, 25, img[band].shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    s = min(w, h)
    cv2.circle(img, (w // 3, h // 2), s // 5, (60, 40, 220), -1)
    cv2.rectangle(img, (w // 2, h // 5), (w // 2 + s // 3, h // 5 + s // 4), (40, 200, 60), -1)
    tri = np.array([[w * 3 // 4, h * 3 // 5], [w - 2, h - 2], [w // 2, h - 2]], np.int32)
    cv2.fillPoly(img, [tri], (210, 130, 20))
    return img  # BGR, as cv2.imwrite expects


def seg_encoder(alpha):
    """keras-segmentation's get_mobilenet_encoder with alpha as a parameter and no size asserts."""
    from keras.layers import Input
    from keras_segmentation.models.mobilenet import _conv_block, _depthwise_conv_block

    def encoder(input_height, input_width):
        img_input = Input(shape=(input_height, input_width, 3))
        x = _conv_block(img_input, 32, alpha, strides=(2, 2))
        x = _depthwise_conv_block(x, 64, alpha, 1, block_id=1)
        f1 = x
        x = _depthwise_conv_block(x, 128, alpha, 1, strides=(2, 2), block_id=2)
        x = _depthwise_conv_block(x, 128, alpha, 1, block_id=3)
        f2 = x
        x = _depthwise_conv_block(x, 256, alpha, 1, strides=(2, 2), block_id=4)
        x = _depthwise_conv_block(x, 256, alpha, 1, block_id=5)
        f3 = x
        x = _depthwise_conv_block(x, 512, alpha, 1, strides=(2, 2), block_id=6)
        for i in range(7, 12):
            x = _depthwise_conv_block(x, 512, alpha, 1, block_id=i)
        f4 = x
        return img_input, [f1, f2, f3, f4, None]
    return encoder


MEAN_RGB = np.array([123.68, 116.779, 103.939], np.float32)  # sub_mean's means, in RGB order


def fold_divide_into_sub_mean(tensors):
    """conv1(x / 255) = conv1'(x - mean) + c: conv1' = conv1 / 255 and c (a per-channel constant)
    moves into conv1_bn's moving mean."""
    t = {k: v.astype(np.float32) for k, v in tensors.items()}
    t["conv1/kernel"] = t["conv1/kernel"] / np.float32(255)
    c = np.einsum("hwio,i->o", t["conv1/kernel"].astype(np.float64), MEAN_RGB.astype(np.float64))
    t["conv1_bn/moving_mean"] = (t["conv1_bn/moving_mean"] - c).astype(np.float32)
    return t


def relu_unet(n_classes, encoder, input_height, input_width):
    """keras-segmentation 0.3.0's ``_unet`` (l1_skip_conn=True) with decoder ReLUs."""
    from keras.layers import BatchNormalization, Conv2D, UpSampling2D, ZeroPadding2D, concatenate
    from keras_segmentation.models.model_utils import get_segmentation_model

    img_input, (f1, f2, f3, f4, _) = encoder(input_height=input_height, input_width=input_width)
    o = f4
    for filters, skip in ((512, f3), (256, f2), (128, f1), (64, None)):
        o = ZeroPadding2D((1, 1))(o)
        o = Conv2D(filters, (3, 3), padding="valid", activation="relu")(o)
        o = BatchNormalization()(o)
        if skip is not None:
            o = concatenate([UpSampling2D((2, 2))(o), skip], axis=-1)
    o = Conv2D(n_classes, (3, 3), padding="same")(o)
    return get_segmentation_model(img_input, o)


def load_into(model, tensors):
    """Our tensors by name into the Keras layers: encoder by name, decoder by position."""
    from convert_keras import canonical_layers
    kinds = {"Conv2D": "conv", "DepthwiseConv2D": "dw", "BatchNormalization": "bn"}
    layers = [lyr for lyr in model.layers if kinds.get(type(lyr).__name__)]
    names = {k: [n for kk, n in canonical_layers() if kk == k] for k in ("conv", "dw", "bn")}
    for layer in layers:
        name = names[kinds[type(layer).__name__]].pop(0)
        if kinds[type(layer).__name__] == "bn":
            vals = [tensors[name + "/" + v] for v in ("gamma", "beta", "moving_mean", "moving_variance")]
        else:
            vals = [tensors[name + "/kernel"]] + ([tensors[name + "/bias"]] if layer.use_bias else [])
        layer.set_weights([v.astype(np.float32) for v in vals])
    assert not any(names.values()), names


def main():
    from safetensors.numpy import load_file

    from st_write import save_safetensors

    with open(WEIGHTS, "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))["__metadata__"]
    h, w = int(header["input_height"]), int(header["input_width"])
    model = relu_unet(int(header["n_classes"]), seg_encoder(float(header["alpha"])), h, w)
    load_into(model, fold_divide_into_sub_mean(load_file(WEIGHTS)))
    from keras_segmentation.data_utils.data_loader import get_image_array

    os.makedirs(OUT, exist_ok=True)
    record = {}
    for i, (iw, ih) in enumerate(SIZES):
        path = os.path.join(OUT, "%dx%d.png" % (iw, ih))
        cv2.imwrite(path, draw_image(iw, ih, i))
        x = get_image_array(path, w, h, ordering="channels_last").astype(np.float32)
        model_map = model.predict_segmentation(inp=path)  # keras-segmentation's own, [64, 64]
        probs = model.predict(x[None], verbose=0)[0].reshape(h // 2, w // 2, -1)
        if not np.array_equal(probs.argmax(-1), model_map):
            sys.exit("predict_segmentation and predict disagree for %s" % path)
        top2 = np.sort(probs, -1)[..., -2:]
        key = "%dx%d" % (iw, ih)
        record[key + "/input"] = np.ascontiguousarray(x)
        record[key + "/model_map"] = model_map.astype(np.uint16)
        record[key + "/margin"] = (top2[..., 1] - top2[..., 0]).astype(np.float32)
        print("%s: classes %s, near ties (margin <= 1e-4): %d" % (
            key, np.bincount(model_map.ravel(), minlength=4).tolist(), int((record[key + "/margin"] <= 1e-4).sum())))
    meta = {"model": "keras_segmentation 0.3.0 _unet with decoder ReLUs + its mobilenet blocks, alpha %s, %dx%d" % (
        header["alpha"], h, w), "weights": "weights/mobilenet_unet_shapes.safetensors",
        "weights_fnv1a64": fnv1a64(open(WEIGHTS, "rb").read())}
    save_safetensors(os.path.join(OUT, "kseg_predict.safetensors"), record, metadata=meta)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
