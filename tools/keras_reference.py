#!/usr/bin/env python3
"""Write the Keras reference fixtures that crates/verify checks the Rust engine against.

    KERAS_BACKEND=jax .venv/bin/python tools/keras_reference.py --out crates/verify/fixtures

Real Keras (3, JAX backend, CPU, float32) is the judge. For each model case this script builds
the seed's model (tools/mobilenet_unet_keras.py), gives every weight and BN statistic a seeded
random value (rounded to float16-representable numbers so the f16 fixture is lossless), saves it
as .keras, .weights.h5 and legacy .h5, converts all three with tools/convert_keras.py (they must
give byte-identical safetensors), and records an input, the output and the intermediates.
It also writes single-layer fixtures (layers.safetensors + layers.json) and Keras's parameter
counts (param_counts.json). See crates/verify/fixtures/README.md for the file formats.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

import convert_keras  # noqa: E402
from st_write import save_safetensors  # noqa: E402
import mobilenet_unet_keras as mu  # noqa: E402
from keras_layer_fixtures import layer_fixtures, param_counts  # noqa: E402

SEED = 20240607
# Kernel std = gain / sqrt(fan_in). sqrt(2) keeps a unit scale through ReLU-like layers (He).
# The depthwise convs get a large gain so their ReLU6 clamps at 6 for a few percent of the values,
# and the pointwise convs after them a small one that brings the scale back: a uniform gain large
# enough to clamp (2.5) makes the network chaotic, and float32 rounding then grows ~100x by f4.
GAINS = {"conv1": float(np.sqrt(2.0)), "conv_dw": 4.0, "conv_pw": 0.7}
LOGIT_RMS = 1.0

# name: (alpha, n_classes, height, width, batch, l1_skip_conn, decoder_activation)
MODEL_CASES = {
    "a025_k3_64x64": (0.25, 3, 64, 64, 1, False, "none"),
    "a025_k4_96x160_relu_l1": (0.25, 4, 96, 160, 1, True, "relu"),
    "a050_k5_64x96_b2": (0.5, 5, 64, 96, 2, False, "none"),
    "a100_k2_64x64": (1.0, 2, 64, 64, 1, False, "none"),
}


def case_rng(name, salt=0):
    """One generator per case, independent of the order cases are generated in."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode()), salt])


def f16_round(a):
    return np.asarray(a, np.float32).astype(np.float16).astype(np.float32)


def random_weights(model, rng, x):
    """Seeded, f16-representable values for every variable, layer by layer in model order.

    Conv kernels: normal, std gain/sqrt(fan_in) (He-like, gain sqrt(2) before ReLU6 blocks) so
    activations keep a unit-ish scale through the encoder; BN statistics well away from the
    identity (gamma in [0.5,1.5], beta, mean in [-0.5,0.5], variance in [0.5,2]) so folding is
    exercised; conv biases in [-0.2, 0.2]. Kernel gains: see GAINS. The logits conv is scaled last, from
    the measured RMS of dec4 on this case's input, so the logits have an RMS near LOGIT_RMS and
    the softmax is far from saturated.
    """
    for layer in model.layers:
        values = []
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            values = [
                rng.uniform(0.5, 1.5, c),
                rng.uniform(-0.5, 0.5, c),
                rng.uniform(-0.5, 0.5, c),
                rng.uniform(0.5, 2.0, c),
            ]
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            shape = tuple(layer.kernel.shape)
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                fan_in = shape[0] * shape[1]
            else:
                fan_in = shape[0] * shape[1] * shape[2]
            gain = GAINS.get(layer.name if layer.name == "conv1" else layer.name[:7], np.sqrt(2.0))
            values = [rng.standard_normal(shape) * gain / np.sqrt(fan_in)]
            if layer.use_bias:
                values.append(rng.uniform(-0.2, 0.2, layer.bias.shape))
        elif layer.weights:
            raise RuntimeError("unexpected weighted layer %s" % layer.name)
        if values:
            layer.set_weights([f16_round(v) for v in values])
    dec4 = keras.Model(model.input, model.get_layer("dec4_bn").output)(x, training=False)
    rms = float(np.sqrt(np.mean(np.square(np.asarray(dec4, np.float64)))))
    scale = float("%.2g" % (LOGIT_RMS / rms))  # 2 significant digits: stable across runs
    logits = model.get_layer("logits_conv")
    kernel, bias = logits.get_weights()
    logits.set_weights([f16_round(kernel * scale), bias])


def build_case(name, spec, tmp):
    alpha, k, h, w, n, l1, act = spec
    model = mu.mobilenet_unet(k, h, w, alpha=alpha, l1_skip_conn=l1, decoder_activation=act)
    x = case_rng(name, 1).uniform(-1.5, 1.5, (n, h, w, 3)).astype(np.float32)
    random_weights(model, case_rng(name), x)

    taps = keras.Model(model.input, [model.get_layer(lyr).output for lyr in mu.TAPS.values()] + [model.output])
    outs = [np.asarray(o, np.float32) for o in taps(x, training=False)]
    io = {"input": x}
    io.update(dict(zip(mu.TAPS.keys(), outs[:-1])))
    io["output"] = outs[-1]
    dw_relus = [lyr.output for lyr in model.layers if lyr.name.startswith("conv_dw_") and lyr.name.endswith("_relu")]
    dw_out = keras.Model(model.input, dw_relus)(x, training=False)
    io_stats = {"frac_dw_relu6_saturated": float(np.mean([np.mean(np.asarray(t) >= 6.0) for t in dw_out]))}
    direct = np.asarray(model(x, training=False))
    assert np.array_equal(direct, io["output"]) or np.allclose(direct, io["output"], atol=1e-6), name

    # Save in all three formats and convert each; they must agree byte for byte.
    paths = {
        "keras": os.path.join(tmp, name + ".keras"),
        "weights": os.path.join(tmp, name + ".weights.h5"),
        "legacy": os.path.join(tmp, name + ".h5"),
    }
    model.save(paths["keras"])
    model.save_weights(paths["weights"])
    # The seed's own (unnamed, auto-named) decoder, saved in the legacy format keras_segmentation uses.
    seed_model = mu.mobilenet_unet(k, h, w, alpha=alpha, l1_skip_conn=l1, decoder_activation=act, name_decoder=False)
    seed_model.set_weights(model.get_weights())
    seed_model.save(paths["legacy"])
    converted = {}
    for fmt, path in paths.items():
        out = os.path.join(tmp, "%s.%s.safetensors" % (name, fmt))
        extra = ["--decoder-activation", act] if fmt == "weights" else []
        if fmt != "keras":
            # Only the .keras config records the Input shape; tell the others, so all agree.
            extra += ["--input-size", "%dx%d" % (h, w)]
        if convert_keras.main([path, out, "--dtype", "f16", "-q", "--classes",
                               ",".join("class%d" % i for i in range(k))] + extra) != 0:
            raise RuntimeError("conversion of %s failed" % path)
        with open(out, "rb") as f:
            converted[fmt] = f.read()
    if len(set(converted.values())) != 1:
        raise RuntimeError("%s: .keras, .weights.h5 and .h5 conversions differ" % name)

    # The f16 file must hold the Keras weights exactly.
    st = load_file(os.path.join(tmp, "%s.keras.safetensors" % name))
    for layer in model.layers:
        for var in layer.weights:
            key = "%s/%s" % (layer.name, var.name)
            if key not in st:
                raise RuntimeError("%s: converter dropped %s" % (name, key))
            if not np.array_equal(st[key].astype(np.float32), np.asarray(var.numpy())):
                raise RuntimeError("%s: %s not preserved by the f16 conversion" % (name, key))
    return converted["keras"], io, io_stats


def output_stats(io):
    p = io["output"]
    return {
        "max_prob_mean": float(p.max(-1).mean()),
        "max_prob_max": float(p.max()),
        "argmax_histogram": np.bincount(p.argmax(-1).ravel(), minlength=p.shape[-1]).tolist(),
        "abs_max": {k: float(np.abs(v).max()) for k, v in io.items()},
        "frac_relu6_saturated": {k: float(np.mean(io[k] >= 6.0)) for k in ("f1", "f2", "f3", "f4")},
        "frac_zero": {k: float(np.mean(io[k] <= 0.0)) for k in ("f1", "f2", "f3", "f4")},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="fixture directory (crates/verify/fixtures)")
    p.add_argument("--cases", nargs="*", default=list(MODEL_CASES), help="model cases to write")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(SEED)

    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            spec = MODEL_CASES[name]
            weights_bytes, io, io_stats = build_case(name, spec, tmp)
            with open(os.path.join(args.out, name + ".weights.safetensors"), "wb") as f:
                f.write(weights_bytes)
            alpha, k, h, w, n, l1, act = spec
            meta = {"case": name, "alpha": str(alpha), "n_classes": str(k), "height": str(h),
                    "width": str(w), "batch": str(n), "l1_skip_conn": str(l1).lower(),
                    "decoder_activation": act, "keras_version": keras.__version__,
                    "backend": keras.backend.backend()}
            save_safetensors(os.path.join(args.out, name + ".io.safetensors"),
                             {k2: np.ascontiguousarray(v, np.float32) for k2, v in io.items()}, metadata=meta)
            summary[name] = dict(output_stats(io), **io_stats)
            print("%s: max prob mean %.3f, argmax histogram %s, depthwise ReLU6 at 6: %.3f" % (
                name, summary[name]["max_prob_mean"], summary[name]["argmax_histogram"],
                summary[name]["frac_dw_relu6_saturated"]), file=sys.stderr)

        tensors, cases = layer_fixtures(SEED)
        save_safetensors(os.path.join(args.out, "layers.safetensors"), tensors)
        with open(os.path.join(args.out, "layers.json"), "w") as f:
            json.dump({"keras_version": keras.__version__, "cases": cases}, f, indent=1, sort_keys=True)
            f.write("\n")

    with open(os.path.join(args.out, "param_counts.json"), "w") as f:
        json.dump(param_counts(), f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "model_cases.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "seed": SEED, "cases": {
            n: dict(zip(("alpha", "n_classes", "height", "width", "batch", "l1_skip_conn",
                         "decoder_activation"), MODEL_CASES[n]), stats=summary[n]) for n in summary}},
                  f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
