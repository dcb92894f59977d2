#!/usr/bin/env python3
"""Train the seed's MobileNet-UNet on the synthetic shapes dataset and export our default weights.

Chosen configuration (and why) -- printed at start-up as well:

* ``alpha = 0.25``: encoder widths 8/16/32/64/128 channels. The shapes task needs little
  capacity, and the machine is a shared 2-core CPU, so the smallest standard MobileNet width.
  (The seed's decoder widths 512/256/128/64 are NOT scaled by alpha, so they dominate the size:
  ~2.4 M parameters, ~4.9 MB as f16.)
* input ``128 x 128`` (output 64 x 64, the seed's half resolution): big enough for shapes of
  7..34 px radius to be recognisable, small enough for ~1.6 s per batch-16 training step on CPU.
* ``n_classes = 4`` (background, circle, rectangle, triangle), ``l1_skip_conn = False`` (the seed's
  default), ``decoder_activation = 'relu'`` (ReLU inside each decoder Conv2D, before
  BatchNormalization, as the keras_segmentation package's decoder does; the seed's literal decoder
  has no non-linearity, which makes the whole decoder one linear map of the skip features).
* preprocessing ``'divide'``: ``x = rgb / 255`` (recorded in the weights' metadata).
* batch 16, Adam, learning rate warm-up 0 -> 2e-3 over 50 steps, then cosine decay to 5 % of it.
* loss: sparse categorical cross-entropy between the model's [N, 64*64, 4] softmax and the labels
  downsampled by nearest neighbour (``labels[:, ::2, ::2]``, i.e. every 2nd pixel starting at 0).
* data: a fixed pool of 2400 generated training images (``make_dataset.generate('train', i)``),
  augmented every epoch by random flips / 90-degree rotations (applied to image and label alike);
  200 validation images (``'val'`` split); 7 epochs. The test split (``data/test``) is never seen.

Outputs:
* ``docs/figures/training_log.csv``: epoch, loss, val_loss, val_pixel_acc, val_mean_iou, lr, seconds
* ``docs/figures/training_curve.png``
* ``target-train/mobilenet_unet_shapes.keras`` (git-ignored)
* ``weights/mobilenet_unet_shapes.safetensors`` via ``tools/convert_keras.py`` (f16, class names,
  colours, preprocessing and decoder activation in the metadata).

Run (from the repository root)::

    KERAS_BACKEND=jax nice -n 15 .venv/bin/python tools/train.py
    # re-export only, from the saved .keras model:
    KERAS_BACKEND=jax .venv/bin/python tools/train.py --convert-only
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import make_dataset as md  # noqa: E402

CONFIG = {
    "alpha": 0.25,
    "input_size": 128,
    "n_classes": md.NUM_CLASSES,
    "l1_skip_conn": False,
    "decoder_activation": "relu",
    "preprocessing": "divide",
    "batch_size": 16,
    "peak_lr": 2e-3,
    "warmup_steps": 50,
    "final_lr_fraction": 0.05,
    "epochs": 7,
    "train_images": 2400,
    "val_images": 200,
    "seed": 0,
}

KERAS_PATH = os.path.join(ROOT, "target-train", "mobilenet_unet_shapes.keras")
WEIGHTS_PATH = os.path.join(ROOT, "weights", "mobilenet_unet_shapes.safetensors")
LOG_PATH = os.path.join(ROOT, "docs", "figures", "training_log.csv")
CURVE_PATH = os.path.join(ROOT, "docs", "figures", "training_curve.png")


def preprocess(x_uint8):
    """'divide' preprocessing: float32 rgb / 255."""
    return x_uint8.astype(np.float32) / 255.0


def labels_at_output(labels):
    """[N, H, W] full-resolution labels -> [N, (H/2)*(W/2)] at the model's output resolution.

    Nearest-neighbour downsampling: every 2nd pixel starting at 0 (``labels[:, ::2, ::2]``)."""
    sub = labels[:, ::2, ::2]
    return sub.reshape(sub.shape[0], -1).astype(np.int32)


def confusion(pred, true, k):
    return np.bincount(true.ravel().astype(np.int64) * k + pred.ravel(), minlength=k * k).reshape(k, k)


def metrics_from_confusion(cm):
    """Pixel accuracy, per-class IoU (None when the class is absent in both) and mean IoU over
    classes with union > 0."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    ious = [float(tp[c] / union[c]) if union[c] > 0 else None for c in range(cm.shape[0])]
    present = [v for v in ious if v is not None]
    return float(tp.sum() / cm.sum()), ious, float(np.mean(present))


def build_model():
    from mobilenet_unet_keras import mobilenet_unet

    s = CONFIG["input_size"]
    return mobilenet_unet(
        CONFIG["n_classes"],
        input_height=s,
        input_width=s,
        alpha=CONFIG["alpha"],
        l1_skip_conn=CONFIG["l1_skip_conn"],
        decoder_activation=CONFIG["decoder_activation"],
    )


def convert():
    """Export the saved .keras model with tools/convert_keras.py."""
    os.makedirs(os.path.dirname(WEIGHTS_PATH), exist_ok=True)
    colors = ";".join(",".join(str(v) for v in c) for c in md.CLASS_COLORS)
    cmd = [
        sys.executable,
        os.path.join(HERE, "convert_keras.py"),
        KERAS_PATH,
        WEIGHTS_PATH,
        "--decoder-activation", CONFIG["decoder_activation"],
        "--preprocessing", CONFIG["preprocessing"],
        "--classes", ",".join(md.CLASS_NAMES),
        "--colors", colors,
        "--dtype", "f16",
    ]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    print("wrote %s (%d bytes)" % (WEIGHTS_PATH, os.path.getsize(WEIGHTS_PATH)))


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in rows]
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4))
    a0.plot(ep, [r["loss"] for r in rows], "o-", label="train loss")
    a0.plot(ep, [r["val_loss"] for r in rows], "s-", label="val loss")
    a0.set_xlabel("epoch")
    a0.set_ylabel("cross-entropy")
    a0.set_yscale("log")
    a0.legend()
    a0.grid(alpha=0.3)
    a1.plot(ep, [r["val_pixel_acc"] for r in rows], "o-", label="val pixel accuracy")
    a1.plot(ep, [r["val_mean_iou"] for r in rows], "s-", label="val mean IoU")
    a1.axhline(0.9, color="gray", ls="--", lw=0.8)
    a1.set_xlabel("epoch")
    a1.set_ylim(0, 1)
    a1.legend(loc="lower right")
    a1.grid(alpha=0.3)
    fig.suptitle(
        "MobileNet-UNet alpha=%g, %dx%d input, synthetic shapes (%d train imgs/epoch)"
        % (CONFIG["alpha"], CONFIG["input_size"], CONFIG["input_size"], CONFIG["train_images"])
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(CURVE_PATH), exist_ok=True)
    fig.savefig(CURVE_PATH, dpi=90)


def train():
    import keras

    print("config:", json.dumps(CONFIG, indent=1), flush=True)
    keras.utils.set_random_seed(CONFIG["seed"])
    s = CONFIG["input_size"]
    t0 = time.time()
    x_train, y_train = md.generate_batch("train", 0, CONFIG["train_images"], s)
    x_val, y_val = md.generate_batch("val", 0, CONFIG["val_images"], s)
    xv = preprocess(x_val)
    yv = labels_at_output(y_val)
    print("generated data in %.0f s" % (time.time() - t0), flush=True)

    bs = CONFIG["batch_size"]
    steps = CONFIG["train_images"] // bs

    class ShapesSequence(keras.utils.PyDataset):
        """The fixed training pool, reshuffled and re-augmented (flips / rot90) every epoch."""

        def __init__(self):
            super().__init__()
            self.epoch = 0
            self._reshuffle()

        def _reshuffle(self):
            rng = np.random.default_rng((CONFIG["seed"], self.epoch))
            self.order = rng.permutation(CONFIG["train_images"])
            self.aug = rng.integers(0, 8, size=CONFIG["train_images"])

        def __len__(self):
            return steps

        def __getitem__(self, i):
            idx = self.order[i * bs : (i + 1) * bs]
            xs, ys = [], []
            for j in idx:
                a = self.aug[j]
                x, y = x_train[j], y_train[j]
                if a & 1:
                    x, y = x[:, ::-1], y[:, ::-1]
                x, y = np.rot90(x, a >> 1), np.rot90(y, a >> 1)
                xs.append(x)
                ys.append(y)
            return preprocess(np.stack(xs)), labels_at_output(np.stack(ys))

        def on_epoch_end(self):
            self.epoch += 1
            self._reshuffle()

    total = steps * CONFIG["epochs"]
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        warmup_target=CONFIG["peak_lr"],
        warmup_steps=CONFIG["warmup_steps"],
        decay_steps=total - CONFIG["warmup_steps"],
        alpha=CONFIG["final_lr_fraction"],
    )
    model = build_model()
    print("parameters: %d" % model.count_params(), flush=True)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")

    rows = []

    class ValMetrics(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.time()

        def on_epoch_end(self, epoch, logs=None):
            p = model.predict(xv, batch_size=32, verbose=0)
            pt = np.take_along_axis(p, yv[..., None], axis=-1)[..., 0]
            val_loss = float(-np.mean(np.log(np.maximum(pt, 1e-7))))
            cm = confusion(p.argmax(-1), yv, CONFIG["n_classes"])
            acc, ious, miou = metrics_from_confusion(cm)
            lr = float(schedule(model.optimizer.iterations))
            row = {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "val_loss": val_loss,
                "val_pixel_acc": acc,
                "val_mean_iou": miou,
                "lr": lr,
                "seconds": time.time() - self.t,
            }
            rows.append(row)
            print(
                "epoch %d: loss %.4f val_loss %.4f val_acc %.4f val_mIoU %.4f per-class %s lr %.2e (%.0f s)"
                % (epoch + 1, row["loss"], val_loss, acc, miou,
                   ["%.3f" % v for v in ious if v is not None], lr, row["seconds"]),
                flush=True,
            )
            os.makedirs(os.path.dirname(LOG_PATH), exist_ok=True)
            with open(LOG_PATH, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(row))
                w.writeheader()
                for r in rows:
                    w.writerow({k: ("%.6g" % v if isinstance(v, float) else v) for k, v in r.items()})
            plot(rows)
            os.makedirs(os.path.dirname(KERAS_PATH), exist_ok=True)
            model.save(KERAS_PATH)

    t1 = time.time()
    model.fit(ShapesSequence(), epochs=CONFIG["epochs"], callbacks=[ValMetrics()], verbose=2)
    print("training wall time: %.1f min" % ((time.time() - t1) / 60), flush=True)
    print("final val mean IoU: %.4f, pixel accuracy %.4f" % (rows[-1]["val_mean_iou"], rows[-1]["val_pixel_acc"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--convert-only", action="store_true", help="skip training; export the saved .keras")
    ap.add_argument("--no-convert", action="store_true", help="train only")
    args = ap.parse_args()
    if not args.convert_only:
        train()
    if not args.no_convert:
        convert()


if __name__ == "__main__":
    main()
