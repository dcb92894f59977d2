#!/usr/bin/env python3
"""Real TensorFlow checkpoints for tools/tf_checkpoint.py, written by TensorFlow 2.15 itself.

    bash tools/make_kseg_venv.sh                               # once: .venv-kseg
    .venv-kseg/bin/python tools/kseg_checkpoint_fixture.py small   # the committed fixture
    .venv-kseg/bin/python tools/kseg_checkpoint_fixture.py full    # the end-to-end check

``small`` writes ``tools/testdata/tf_checkpoint/``: a tiny MobileNet-like tf.keras model (15
weighted layers: Conv2D with and without bias, DepthwiseConv2D, BatchNormalization) trained for
two steps with Adam and saved with ``model.save_weights("tiny.2")`` — so the index holds the
object graph, the optimizer's slots and counters across several table blocks — plus
``tiny_expected.npz`` (each layer's variables as Keras holds them, keyed
``layer_with_weights-N/<weight>``). tools/test_tf_checkpoint.py reads it with numpy alone.

``full`` does what a keras-segmentation 0.3.0 user does: ``mobilenet_unet(3)`` (its ImageNet
encoder weights replaced by a local file: there is no network here) trained with its own
``model.train(..., checkpoints_path=P, epochs=2)`` on a tiny generated dataset, which writes
``P_config.json``, ``P.0.*`` and ``P.1.*``. Then ``convert_keras.py P`` (the prefix: the highest
epoch is taken) and our ``mobilenet-unet infer`` on keras-segmentation's own ``get_image_array``
arrays, against the model's ``predict``. Prints the max difference and argmax agreement; exit 1
above 1e-4 or on any argmax difference. Needs ``cargo build --release -p mobilenet-unet-cli``.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)


def tiny_model(keras):
    """A MobileNet-like model small enough to commit: every layer kind the seed uses."""
    L = keras.layers
    x = inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv1")(x)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(6.0)(x)
    for i, (c, s) in enumerate([(16, 1), (16, 2), (24, 1), (24, 1)], start=1):
        x = L.DepthwiseConv2D(3, strides=s, padding="same", use_bias=False, name="conv_dw_%d" % i)(x)
        x = L.BatchNormalization(name="conv_dw_%d_bn" % i)(x)
        x = L.ReLU(6.0)(x)
        x = L.Conv2D(c, 1, use_bias=False, name="conv_pw_%d" % i)(x)
        x = L.BatchNormalization(name="conv_pw_%d_bn" % i)(x)
        x = L.ReLU(6.0)(x)
    x = L.Conv2D(16, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(3, 3, padding="same")(x)
    return keras.Model(inp, x)


def write_small(out_dir):
    import tensorflow as tf
    keras = tf.keras
    keras.utils.set_random_seed(7)
    model = tiny_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(4, 4, 4, 3)).astype(np.float32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # two steps: BN statistics and Adam slots move
    os.makedirs(out_dir, exist_ok=True)
    for f in glob.glob(os.path.join(out_dir, "tiny.*")) + glob.glob(os.path.join(out_dir, "checkpoint")):
        os.remove(f)
    model.save_weights(os.path.join(out_dir, "tiny.2"))
    os.remove(os.path.join(out_dir, "checkpoint"))  # TF's bookkeeping file; we never read it
    expected = {}
    for n, layer in enumerate(lyr for lyr in model.layers if lyr.weights):
        for w in layer.weights:
            short = w.name.split("/")[-1].split(":")[0]
            expected["layer_with_weights-%d/%s" % (n, short)] = w.numpy()
    np.savez(os.path.join(out_dir, "tiny_expected.npz"), **expected)
    sizes = {f: os.path.getsize(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir))}
    print("wrote %s: %s" % (out_dir, sizes))


def make_dataset(cv2, root, n=6, h=240, w=320):
    """Images with a filled circle (class 1) and rectangle (class 2) on noise; labels in channel 0."""
    rng = np.random.default_rng(0)
    for sub in ("images", "annotations"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i in range(n):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        lab = np.zeros((h, w, 3), np.uint8)
        cx, cy, r = (int(v) for v in (rng.integers(60, w - 60), rng.integers(60, h - 60), rng.integers(20, 50)))
        x0, y0 = int(rng.integers(0, w - 80)), int(rng.integers(0, h - 80))
        cv2.rectangle(img, (x0, y0), (x0 + 70, y0 + 60), (40, 200, 90), -1)
        cv2.rectangle(lab, (x0, y0), (x0 + 70, y0 + 60), (2, 2, 2), -1)
        cv2.circle(img, (cx, cy), r, (220, 40, 60), -1)
        cv2.circle(lab, (cx, cy), r, (1, 1, 1), -1)
        cv2.imwrite(os.path.join(root, "images", "%d.png" % i), img)
        cv2.imwrite(os.path.join(root, "annotations", "%d.png" % i), lab)
    return os.path.join(root, "images"), os.path.join(root, "annotations")


def offline_encoder_weights(work):
    """keras.utils.get_file stand-in: keras-segmentation's MobileNet encoder, randomly
    initialised (pretrained=None) and saved as the .h5 its ImageNet download would be."""
    import keras
    from keras_segmentation.models.mobilenet import get_mobilenet_encoder
    path = os.path.join(work, "mobilenet_1_0_224_tf_no_top.h5")
    img_input, levels = get_mobilenet_encoder(pretrained=None)
    keras.models.Model(img_input, levels[-1]).save_weights(path)

    def get_file(fname, origin=None, **kwargs):
        return path
    keras.utils.get_file = get_file


def run_full(binary):
    import cv2
    import keras
    work = tempfile.mkdtemp(prefix="kseg_ckpt_")
    keras.utils.set_random_seed(1)
    offline_encoder_weights(work)
    from keras_segmentation.data_utils.data_loader import get_image_array
    from keras_segmentation.models.unet import mobilenet_unet
    images, annotations = make_dataset(cv2, os.path.join(work, "data"))
    model = mobilenet_unet(n_classes=3)
    prefix = os.path.join(work, "mobilenet_unet_1")
    model.train(train_images=images, train_annotations=annotations, checkpoints_path=prefix,
                epochs=2, steps_per_epoch=3, batch_size=2)
    files = sorted(os.listdir(work))
    print("train() wrote:", ", ".join(f for f in files if f.startswith("mobilenet_unet_1")))
    print("  %s.1.data-00000-of-00001: %d bytes" % (prefix, os.path.getsize(prefix + ".1.data-00000-of-00001")))

    import convert_keras
    weights = os.path.join(work, "converted.safetensors")
    rc = convert_keras.main([prefix, weights, "--colors", "0,0,0;255,0,0;0,255,0"])
    if rc != 0:
        sys.exit("conversion failed")
    if "tensorflow" in sys.modules.get("convert_keras").__dict__:
        sys.exit("convert_keras imported TensorFlow")

    x = np.stack([get_image_array(os.path.join(images, "%d.png" % i), 224, 224, ordering="channels_last")
                  for i in range(3)]).astype(np.float32)
    want = model.predict(x, verbose=0)
    x_path, y_path = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    np.save(x_path, x)
    subprocess.run([binary, "infer", "--weights", weights, "--input", x_path, "--output", y_path], check=True)
    got = np.load(y_path)
    diff = float(np.abs(got - want).max())
    agree = float((got.argmax(-1) == want.argmax(-1)).mean())
    print("full mobilenet_unet (alpha 1, 3 classes, 224x224) from the checkpoint prefix, "
          "3 images: max |ours - Keras| = %.3g, argmax agreement %.4f%%" % (diff, 100 * agree))
    meta_cfg = json.load(open(prefix + "_config.json"))
    print("  %s_config.json: %s" % (os.path.basename(prefix), meta_cfg))
    if diff > 1e-4 or agree != 1.0:
        sys.exit("FAILED: above 1e-4 or argmax differs")
    before = os.path.join(work, "converted_antialias.safetensors")
    convert_keras.main([prefix, before, "--colors", "0,0,0;255,0,0;0,255,0", "-q",
                        "--resize", "antialias", "--label-resize", "centre"])
    compare_masks(cv2, model, binary, weights, before, work)


def segment_classes(cv2, binary, path, weights, out):
    """Our `segment`'s mask at the image's size, as class indices (palette: black, red, green)."""
    subprocess.run([binary, "segment", path, "-o", out, "--weights", weights], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stem = os.path.splitext(os.path.basename(path))[0]
    mask = cv2.imread(os.path.join(out, stem + "_mask.png"))  # BGR
    return (mask[..., 2] > 0).astype(np.uint8) + 2 * (mask[..., 1] > 0).astype(np.uint8)


def compare_masks(cv2, model, binary, weights, before, work):
    """Our `segment` at the image's size against keras-segmentation's `predict_segmentation`
    scaled the way its mask is, cv2.INTER_NEAREST: the issue's table, redone; "before" is the
    same weights with the antialiased resize and pixel-centre label scaling."""
    from keras_segmentation.data_utils.data_loader import get_image_array
    print("| image | class maps equal | clear pixels (top-2 gap > 1e-4) equal | before: antialias, centre |")
    print("|---|---:|---:|---:|")
    worst = 100.0
    for w, h in ((224, 224), (300, 200), (640, 480), (150, 400)):
        root = os.path.join(work, "sizes_%dx%d" % (w, h))
        images, _ = make_dataset(cv2, root, n=1, h=h, w=w)
        path = os.path.join(images, "0.png")
        pr = model.predict_segmentation(inp=path)  # [112, 112], keras-segmentation's own
        x = get_image_array(path, 224, 224, ordering="channels_last")
        probs = np.sort(model.predict(x[None], verbose=0)[0], -1)
        clear = (probs[:, -1] - probs[:, -2] > 1e-4).reshape(pr.shape).astype(np.uint8)
        theirs = cv2.resize(pr.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
        clear = cv2.resize(clear, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        ours = segment_classes(cv2, binary, path, weights, os.path.join(root, "out"))
        old = segment_classes(cv2, binary, path, before, os.path.join(root, "out_before"))
        equal = 100.0 * float((ours == theirs).mean())
        equal_clear = 100.0 * float((ours == theirs)[clear].mean())
        worst = min(worst, equal_clear)
        print("| %dx%d | %.2f%% | %.2f%% | %.2f%% |" % (w, h, equal, equal_clear,
                                                    100.0 * float((old == theirs).mean())))
    if worst < 100.0:
        sys.exit("FAILED: a clear pixel differs")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "small":
        write_small(os.path.join(HERE, "testdata", "tf_checkpoint"))
    elif what == "full":
        run_full(os.path.join(ROOT, "target", "release", "mobilenet-unet"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
