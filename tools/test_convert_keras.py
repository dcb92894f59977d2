#!/usr/bin/env python3
"""Self-test of convert_keras.py: every input format, alpha inference, and the error paths.

    .venv/bin/python tools/test_convert_keras.py      # prints "ok: N checks", exit 1 on failure

Builds small models with mobilenet_unet_keras.py, saves them as .keras, .weights.h5, legacy .h5
(seed-exact auto-named decoder) and a synthetic tf.keras-2-style weights file (``kernel:0``,
``depthwise_kernel:0``, ``layer_names`` at the root, renumbered ``conv2d_N``), and checks that the
conversions agree byte for byte and that bad inputs fail with one line and exit status 1.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import contextlib  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from safetensors import safe_open  # noqa: E402

import convert_keras  # noqa: E402
import mobilenet_unet_keras as mu  # noqa: E402

CHECKS = []


def check(cond, what):
    CHECKS.append(what)
    if not cond:
        raise AssertionError(what)


def run(*argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = convert_keras.main(list(argv) + ["-q"])
    return rc, err.getvalue()


def read(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def tf_style_copy(legacy_path, out_path):
    """Rewrite a Keras 3 legacy .h5 the way tf.keras 2 writes save_weights files."""
    offsets = {"conv2d": 5, "batch_normalization": 27}
    with h5py.File(legacy_path, "r") as src, h5py.File(out_path, "w") as out:
        mw = src["model_weights"]
        names = []
        for raw in mw.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else raw
            new = name
            for base, off in offsets.items():
                tail = name[len(base) + 1:]
                if name == base or (name.startswith(base + "_") and tail.isdigit()):
                    new = "%s_%d" % (base, (int(tail) if tail else 0) + off)
            names.append(new)
            g = out.create_group(new)
            wnames = []
            for w in mw[name].attrs.get("weight_names", []):
                w = w.decode() if isinstance(w, bytes) else w
                short = w.split("/")[-1]
                if name.startswith("conv_dw_") and not name.endswith("_bn"):
                    short = "depthwise_kernel"
                full = "%s/%s:0" % (new, short)
                g.create_dataset(full, data=np.asarray(mw[name][w]))
                wnames.append(full.encode())
            g.attrs["weight_names"] = np.array(wnames, dtype="S")
        out.attrs["layer_names"] = np.array([n.encode() for n in names], dtype="S")


def formats_agree(tmp, alpha, k, l1, act, expect_alpha):
    model = mu.mobilenet_unet(k, 32, 48, alpha=alpha, l1_skip_conn=l1, decoder_activation=act)
    seed = mu.mobilenet_unet(k, 32, 48, alpha=alpha, l1_skip_conn=l1, decoder_activation=act, name_decoder=False)
    seed.set_weights(model.get_weights())
    base = os.path.join(tmp, "m_%s_%d" % (alpha, k))
    model.save(base + ".keras")
    model.save_weights(base + ".weights.h5")
    seed.save(base + ".h5")
    tf_style_copy(base + ".h5", base + ".tf.h5")
    outs = []
    # .keras files record the Input shape (32x48) in their config; the others are told it, so all
    # four must convert to the same bytes.
    size = ["--input-size", "32x48"]
    for src, extra in ((".keras", []), (".weights.h5", ["--decoder-activation", act] + size), (".h5", size),
                       (".tf.h5", ["--decoder-activation", act] + size)):
        out = base + src + ".safetensors"
        rc, err = run(base + src, out, *extra)
        check(rc == 0, "convert %s: %s" % (src, err))
        with open(out, "rb") as f:
            outs.append(f.read())
    check(len(set(outs)) == 1, "alpha %s: all four formats convert to the same bytes" % alpha)
    tensors, meta = read(base + ".keras.safetensors")
    check(meta["alpha"] == expect_alpha, "alpha %s inferred as %s" % (alpha, meta["alpha"]))
    check(meta["n_classes"] == str(k) and meta["l1_skip_conn"] == str(l1).lower(), "n_classes, l1 metadata")
    check(meta["decoder_activation"] == act, "decoder activation from config")
    for layer in model.layers:
        for var in layer.weights:
            key = "%s/%s" % (layer.name, var.name)
            check(np.array_equal(tensors[key], np.asarray(var.numpy())), "tensor %s preserved" % key)
    check(not any(k2.startswith(("conv_dw_12", "conv_pw_13")) for k2 in tensors), "f5 blocks dropped")
    return base


def error_cases(tmp, base):
    def fails(argv, needle):
        rc, err = run(*argv)
        check(rc == 1 and needle in err and err.count("\n") == 1, "%s -> %r (got %r)" % (argv[0], needle, err))

    out = os.path.join(tmp, "o.safetensors")
    fails([os.path.join(tmp, "missing.keras"), out], "no such file")
    with open(base + ".keras", "rb") as f:
        blob = f.read()
    with open(os.path.join(tmp, "trunc.keras"), "wb") as f:
        f.write(blob[: len(blob) // 3])
    fails([os.path.join(tmp, "trunc.keras"), out], "not a valid .keras zip")
    with open(base + ".weights.h5", "rb") as f:
        blob = f.read()
    with open(os.path.join(tmp, "trunc.weights.h5"), "wb") as f:
        f.write(blob[: len(blob) // 3])
    fails([os.path.join(tmp, "trunc.weights.h5"), out], "cannot read")
    with open(os.path.join(tmp, "text.h5"), "w") as f:
        f.write("not hdf5\n")
    fails([os.path.join(tmp, "text.h5"), out], "cannot read")
    other = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    other.save(os.path.join(tmp, "other.keras"))
    fails([os.path.join(tmp, "other.keras"), out], "the seed's model has 17")
    fails([base + ".keras", out, "--decoder-activation", "none"], "contradicts the saved config")
    fails([base + ".keras", out, "--alpha", "0.5"], "--alpha 0.5")
    fails([base + ".keras", out, "--classes", "a,b"], "--classes gives 2 names")
    fails([base + ".keras", out, "--colors", "1,2"], "--colors")
    fails([base + ".keras", os.path.join(tmp, "no", "dir", "o.safetensors")], "cannot write")
    # A wrong-shaped tensor is reported by name.
    with h5py.File(base + ".h5", "r") as src, h5py.File(os.path.join(tmp, "bad.h5"), "w") as dst:
        for key in src.attrs:
            dst.attrs[key] = src.attrs[key]
        src.copy("model_weights", dst)
        del dst["model_weights/conv_pw_3/conv_pw_3/kernel"]
        dst["model_weights/conv_pw_3/conv_pw_3/kernel"] = np.zeros((1, 1, 5, 32), np.float32)
    fails([os.path.join(tmp, "bad.h5"), out], "conv_pw_3/kernel has shape [1, 1, 5, 32], expected [1, 1, 32, 32]")


def options(tmp, base):
    out = os.path.join(tmp, "opt.safetensors")
    rc, err = run(base + ".keras", out, "--classes", "a, b,c", "--colors", "1,2,3;#ff0080;0,0,0",
                  "--preprocessing", "divide", "--dtype", "f32")
    check(rc == 0, "options: %s" % err)
    tensors, meta = read(out)
    check(meta["class_names"] == '["a", "b", "c"]', "class_names JSON")
    check(meta["class_colors"] == "[[1, 2, 3], [255, 0, 128], [0, 0, 0]]", "class_colors JSON")
    check(meta["preprocessing"] == "divide" and meta["bn_epsilon"] == "0.001", "preprocessing, epsilon")
    check(all(t.dtype == np.float32 for t in tensors.values()), "f32 output")


def main():
    keras.utils.set_random_seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        base = formats_agree(tmp, 0.25, 3, True, "relu", "0.25")
        formats_agree(tmp, 0.35, 2, False, "none", "0.35")
        error_cases(tmp, base)
        options(tmp, base)
    print("ok: %d checks" % len(CHECKS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
