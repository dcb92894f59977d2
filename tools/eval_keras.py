#!/usr/bin/env python3
"""Segmentation metrics computed by KERAS on a labelled set -- the reference for `mobilenet-unet eval`.

    KERAS_BACKEND=jax .venv/bin/python tools/eval_keras.py \
        [--weights weights/mobilenet_unet_shapes.safetensors | --keras MODEL.keras] \
        [--data data/test] [--json-out crates/verify/fixtures/default_weights_eval_keras.json]

Weights: by default the converted safetensors file (the exact tensors our engine loads; f16 values
are widened to f32) is loaded into the Keras model built by tools/mobilenet_unet_keras.py with
the architecture from the file's metadata (alpha, n_classes, l1_skip_conn, decoder_activation).
So Keras and our engine evaluate the same numbers. ``--keras`` evaluates a saved .keras model
instead (its own f32 weights; preprocessing then comes from ``--preprocessing``).

Data layout: ``DIR/images/NNN.png`` (RGB) and ``DIR/labels/NNN.png`` (8-bit grayscale, value =
class index, same size as the image), paired by file name, sorted by name.

Convention (the Rust ``eval`` uses the same):

1. The image is fed at its own size (all images must have the same even H and W; the model is
   built for that size), channel order RGB, preprocessed as the metadata says:
   ``divide``: x/255; ``sub_and_divide``: x/127.5 - 1; ``sub_mean``: x - [123.68, 116.779, 103.939]
   (keras_segmentation's ImageNet means, here in RGB order).
2. The model's output is at HALF resolution: (H/2) x (W/2) softmax over K classes. The predicted
   class of an output pixel is the argmax (first maximum on ties).
3. The label is brought to the output resolution by nearest-neighbour downsampling taking every
   2nd pixel starting at 0: ``label_small[i, j] = label[2*i, 2*j]``.
4. One confusion matrix is accumulated over ALL pixels of ALL images (dataset-level, not a mean of
   per-image scores). Pixel accuracy = trace / total. IoU_c = TP_c / (TP_c + FP_c + FN_c); a class
   whose union is 0 in the whole set has no IoU (null in JSON) and is left out of the mean.
   Mean IoU = mean of IoU_c over classes with union > 0.

The default output is the fixture ``crates/verify`` compares our engine's eval with (so CI checks
the shipped weights against Keras without Python).

JSON keys as the Rust ``eval --json``: ``images``, ``pixel_accuracy``, ``mean_iou``, ``class_iou``
(name -> IoU or null), ``confusion`` (``confusion[truth][predicted]``), plus provenance fields.
"""

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

DEFAULT_WEIGHTS = os.path.join(ROOT, "weights", "mobilenet_unet_shapes.safetensors")
DEFAULT_DATA = os.path.join(ROOT, "data", "test")
DEFAULT_JSON = os.path.join(ROOT, "crates", "verify", "fixtures", "default_weights_eval_keras.json")


def preprocess(rgb_uint8, mode):
    x = rgb_uint8.astype(np.float32)
    if mode == "divide":
        return x / 255.0
    if mode == "sub_and_divide":
        return x / 127.5 - 1.0
    if mode == "sub_mean":
        return x - np.array([123.68, 116.779, 103.939], dtype=np.float32)
    raise SystemExit("unknown preprocessing %r" % mode)


def load_set(data_dir):
    img_dir = os.path.join(data_dir, "images")
    lab_dir = os.path.join(data_dir, "labels")
    names = sorted(n for n in os.listdir(img_dir) if n.lower().endswith(".png"))
    if not names:
        raise SystemExit("no PNG images in %s" % img_dir)
    xs, ys = [], []
    for n in names:
        x = np.asarray(Image.open(os.path.join(img_dir, n)).convert("RGB"))
        y = np.asarray(Image.open(os.path.join(lab_dir, n)))
        if y.ndim != 2 or y.shape != x.shape[:2]:
            raise SystemExit("%s: label must be 8-bit grayscale of the image's size" % n)
        xs.append(x)
        ys.append(y)
    if len({x.shape for x in xs}) != 1:
        raise SystemExit("all images must have the same size")
    h, w = xs[0].shape[:2]
    if h % 2 or w % 2:
        raise SystemExit("image size must be even (the model outputs half resolution)")
    return names, np.stack(xs), np.stack(ys)


def model_from_safetensors(path, h, w):
    """Build the Keras model described by the file's metadata and load its tensors into it."""
    from safetensors import safe_open

    from mobilenet_unet_keras import mobilenet_unet

    with safe_open(path, framework="np") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}
    model = mobilenet_unet(
        int(meta["n_classes"]),
        input_height=h,
        input_width=w,
        alpha=float(meta["alpha"]),
        l1_skip_conn=meta.get("l1_skip_conn", "false") == "true",
        decoder_activation=meta.get("decoder_activation", "none"),
    )
    loaded = set()
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "BatchNormalization":
            keys = ["gamma", "beta", "moving_mean", "moving_variance"]
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            keys = ["kernel"] + (["bias"] if getattr(layer, "use_bias", False) else [])
        else:
            continue
        names = ["%s/%s" % (layer.name, k) for k in keys]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise SystemExit("%s: missing tensors %s" % (path, missing))
        layer.set_weights([tensors[n] for n in names])
        loaded.update(names)
    unused = sorted(set(tensors) - loaded)
    if unused:
        raise SystemExit("%s: tensors not used by the model: %s" % (path, unused[:5]))
    return model, meta


def confusion(pred, true, k):
    return np.bincount(true.ravel().astype(np.int64) * k + pred.ravel(), minlength=k * k).reshape(k, k)


def metrics(cm, class_names):
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    ious = [float(tp[c] / union[c]) if union[c] > 0 else None for c in range(cm.shape[0])]
    present = [v for v in ious if v is not None]
    return {
        "pixel_accuracy": float(tp.sum() / cm.sum()),
        "mean_iou": float(np.mean(present)),
        "class_iou": {name: iou for name, iou in zip(class_names, ious)},
        "confusion": cm.tolist(),  # confusion[truth][predicted] pixel counts
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS, help="converted .safetensors (default: ours)")
    ap.add_argument("--keras", help="evaluate this .keras model instead of --weights")
    ap.add_argument("--preprocessing", default="divide", help="with --keras only (default divide)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--json-out", default=DEFAULT_JSON, help="write the metrics here ('' to skip)")
    args = ap.parse_args()

    names, xs, ys = load_set(args.data)
    h, w = xs.shape[1:3]
    if args.keras:
        import keras

        model = keras.saving.load_model(args.keras, safe_mode=False)
        if tuple(model.input_shape[1:3]) != (h, w):
            raise SystemExit("model input %s != image size %s" % (model.input_shape[1:3], (h, w)))
        prep = args.preprocessing
        k = int(model.output_shape[-1])
        cls_path = os.path.join(os.path.dirname(os.path.abspath(args.data)), "classes.json")
        class_names = (json.load(open(cls_path))["names"] if os.path.exists(cls_path)
                       else ["class_%d" % c for c in range(k)])
        source = args.keras
    else:
        model, meta = model_from_safetensors(args.weights, h, w)
        prep = meta.get("preprocessing", "sub_mean")
        k = int(meta["n_classes"])
        class_names = json.loads(meta["class_names"]) if "class_names" in meta else [
            "class_%d" % c for c in range(k)]
        source = args.weights

    probs = model.predict(preprocess(xs, prep), batch_size=8, verbose=0)  # [N, (H/2)*(W/2), K]
    pred = probs.argmax(-1)
    true = ys[:, ::2, ::2].reshape(len(ys), -1)
    if true.max() >= k:
        raise SystemExit("label value %d >= n_classes %d" % (true.max(), k))
    res = metrics(confusion(pred, true, k), class_names)
    res.update({
        "engine": "keras %s (backend %s)" % (__import__("keras").__version__, os.environ["KERAS_BACKEND"]),
        "weights": os.path.relpath(source, ROOT),
        # crates/verify checks that the binary embeds exactly this file before comparing.
        "weights_sha256": hashlib.sha256(open(source, "rb").read()).hexdigest(),
        "data": os.path.relpath(os.path.abspath(args.data), ROOT),
        "images": len(names),
        "image_size": [int(h), int(w)],
        "output_size": [int(h // 2), int(w // 2)],
        "preprocessing": prep,
        "label_downsampling": "nearest, label[2i, 2j] (every 2nd pixel starting at 0)",
        "aggregation": "one confusion matrix over all pixels of all images; "
                       "mean IoU over classes with union > 0",
    })

    print("%d images from %s, weights %s" % (len(names), res["data"], res["weights"]))
    print("pixel accuracy: %.4f" % res["pixel_accuracy"])
    for name, iou in res["class_iou"].items():
        print("  IoU %-12s %s" % (name, "n/a" if iou is None else "%.4f" % iou))
    print("mean IoU: %.4f" % res["mean_iou"])
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        print("wrote %s" % args.json_out)


if __name__ == "__main__":
    main()
