#!/usr/bin/env python3
"""Re-run the fixtures with numpy alone (no Keras) and compare with what Keras computed.

    .venv/bin/python tools/check_fixtures_numpy.py [--fixtures crates/verify/fixtures]

This is the executable spec of the semantics the Rust engine must reproduce, read from the
converted safetensors exactly as the Rust loader reads them (names ``<layer>/<weight>``, Keras
shapes, ``__metadata__`` strings). All arithmetic is float64 here; Keras ran float32.

* NHWC activations. Conv kernels HWIO ``[kh, kw, Cin, Cout]``, depthwise ``[kh, kw, C, 1]``.
* ``valid`` conv, stride s: ``out[n, y, x, o] = sum_{i,j,c} in[n, s*y+i, s*x+j, c] * K[i, j, c, o]``
  (+ bias[o]); output size ``(H - kh) // s + 1``.
* ``same`` (TF rule): output ``ceil(H / s)``; total padding ``max((out-1)*s + kh - H, 0)``, of
  which ``total // 2`` on top/left and the rest (the larger half) on bottom/right.
* BatchNormalization (inference): ``(x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta``.
* ReLU6: ``min(max(x, 0), 6)``. Decoder 'relu' variant: ``max(conv + bias, 0)`` then BN.
* UpSampling2D((2,2)): nearest, ``out[n, y, x] = in[n, y // 2, x // 2]``.
* Concatenate: channels of the first input, then the second (``[upsampled, skip]``).
* Output: reshape the logits ``[N, H/2, W/2, K]`` row-major to ``[N, H/2 * W/2, K]``; softmax
  over K.
"""

import argparse
import json
import os
import sys

import numpy as np
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, "..", "crates", "verify", "fixtures")


DTYPE = np.float64  # --precision f32 switches to float32 to see how far a float32 engine drifts


def load(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k).astype(DTYPE) for k in f.keys()}, f.metadata() or {}


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pad(x, top, bottom, left, right):
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = pad(x, *same_pads(x.shape[1], kh, stride), *same_pads(x.shape[2], kw, stride))
    ho, wo = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, kernel.shape[3]), DTYPE)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]
            out += patch @ kernel[i, j]
    return out if bias is None else out + bias


def depthwise(x, kernel, stride=1, padding="valid"):
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = pad(x, *same_pads(x.shape[1], kh, stride), *same_pads(x.shape[2], kw, stride))
    ho, wo = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]), DTYPE)
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :] * kernel[i, j, :, 0]
    return out


def batchnorm(x, gamma, beta, mean, var, eps):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def upsample2(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def forward(w, meta, x):
    """The whole model; returns every tap the .io file holds."""
    eps = float(meta["bn_epsilon"])
    relu_dec = meta["decoder_activation"] == "relu"

    def bn(t, name):
        return batchnorm(t, w[name + "/gamma"], w[name + "/beta"], w[name + "/moving_mean"],
                         w[name + "/moving_variance"], eps)

    taps = {}
    t = relu6(bn(conv2d(pad(x, 1, 1, 1, 1), w["conv1/kernel"], stride=2), "conv1_bn"))
    for i in range(1, 12):
        stride = 2 if i in (2, 4, 6) else 1
        t = relu6(bn(depthwise(pad(t, 1, 1, 1, 1), w["conv_dw_%d/kernel" % i], stride), "conv_dw_%d_bn" % i))
        t = relu6(bn(conv2d(t, w["conv_pw_%d/kernel" % i]), "conv_pw_%d_bn" % i))
        if i in (1, 3, 5, 11):
            taps["f%d" % {1: 1, 3: 2, 5: 3, 11: 4}[i]] = t
    skips = {1: taps["f3"], 2: taps["f2"], 3: taps["f1"] if meta["l1_skip_conn"] == "true" else None}
    t = taps["f4"]
    for d in range(1, 5):
        t = conv2d(pad(t, 1, 1, 1, 1), w["dec%d_conv/kernel" % d], w["dec%d_conv/bias" % d])
        if relu_dec:
            t = np.maximum(t, 0.0)
        t = bn(t, "dec%d_bn" % d)
        taps["dec%d" % d] = t
        if d < 4:
            t = upsample2(t)
            if skips[d] is not None:
                t = np.concatenate([t, skips[d]], axis=-1)
    t = conv2d(t, w["logits_conv/kernel"], w["logits_conv/bias"], padding="same")
    taps["logits"] = t
    n, h, wd, k = t.shape
    taps["output"] = softmax(t.reshape(n, h * wd, k))
    return taps


def run_layer_case(case, t):
    c = case["config"]
    x = t[case["inputs"][0]]
    kind = case["layer"]
    if kind == "Conv2D":
        y = conv2d(x, t[case["weights"]["kernel"]], t.get(case["weights"].get("bias")), c["strides"][0], c["padding"])
        return np.maximum(y, 0.0) if c["activation"] == "relu" else y
    if kind == "DepthwiseConv2D":
        return depthwise(x, t[case["weights"]["kernel"]], c["strides"][0], c["padding"])
    if kind == "BatchNormalization":
        wt = case["weights"]
        return batchnorm(x, t[wt["gamma"]], t[wt["beta"]], t[wt["moving_mean"]], t[wt["moving_variance"]], c["epsilon"])
    if kind == "ZeroPadding2D":
        (top, bottom), (left, right) = c["padding"]
        return pad(x, top, bottom, left, right)
    if kind == "UpSampling2D":
        return upsample2(x)
    if kind == "Concatenate":
        return np.concatenate([x, t[case["inputs"][1]]], axis=-1)
    if kind == "ReLU6":
        return relu6(x)
    if kind == "Softmax":
        return softmax(x)
    raise ValueError(kind)


def compare(what, ours, ref, rel_tol, failures):
    err = float(np.max(np.abs(ours - ref))) if ref.size else 0.0
    scale = max(1.0, float(np.max(np.abs(ref))))
    ok = ours.shape == ref.shape and err <= rel_tol * scale
    print("  %-34s max abs err %.3e  (scale %.3g, tol %.1e)  %s" % (what, err, scale, rel_tol * scale,
                                                                      "PASS" if ok else "FAIL"))
    if not ok:
        failures.append(what)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    p.add_argument("--cases", nargs="*", help="model cases (default: every *.io.safetensors)")
    p.add_argument("--precision", choices=("f64", "f32"), default="f64")
    args = p.parse_args(argv)
    global DTYPE
    DTYPE = np.float32 if args.precision == "f32" else np.float64
    failures = []

    with open(os.path.join(args.fixtures, "layers.json")) as f:
        layer_cases = json.load(f)["cases"]
    t, _ = load(os.path.join(args.fixtures, "layers.safetensors"))
    print("single layers (layers.safetensors):")
    for case in layer_cases:
        compare(case["name"], run_layer_case(case, t), t[case["output"]], 1e-5, failures)

    cases = args.cases or sorted(f[:-len(".io.safetensors")] for f in os.listdir(args.fixtures)
                                 if f.endswith(".io.safetensors"))
    for name in cases:
        w, meta = load(os.path.join(args.fixtures, name + ".weights.safetensors"))
        io, _ = load(os.path.join(args.fixtures, name + ".io.safetensors"))
        print("%s (alpha %s, %s classes, l1_skip %s, decoder %s):" % (
            name, meta["alpha"], meta["n_classes"], meta["l1_skip_conn"], meta["decoder_activation"]))
        taps = forward(w, meta, io["input"])
        for key in ("f1", "f2", "f3", "f4", "dec1", "dec2", "dec3", "dec4", "logits", "output"):
            compare(key, taps[key], io[key], 1e-5, failures)
        agree = np.mean(taps["output"].argmax(-1) == io["output"].argmax(-1))
        print("  argmax agreement %.4f" % agree)
    if failures:
        print("FAILED: %s" % ", ".join(failures))
        return 1
    print("all PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
