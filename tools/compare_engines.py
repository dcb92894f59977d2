#!/usr/bin/env python3
"""Time other CPU inference engines against our CLI on the same model and input, and check
that their outputs agree.

What is measured
----------------
The seed's network (MobileNet v1 encoder, UNet decoder; alpha 1.0, 2 classes, decoder
activation ``none``, no l1 skip), float32, batch 1, with seeded random weights and random
BatchNorm statistics (so BN folding is not the identity). The *same* numpy weights are written

* as our safetensors file (the format ``tools/convert_keras.py`` writes), run by
  ``target/release/mobilenet-unet`` (``bench`` for timing, ``infer`` for outputs);
* as an ONNX graph built directly with ``onnx.helper`` (no TensorFlow needed), run by
  ONNX Runtime (CPU execution provider) and by OpenVINO (CPU plugin, reading the same ONNX file);
* as a TFLite flatbuffer built directly with LiteRT's own schema bindings (again no
  TensorFlow), run by the LiteRT interpreter with its default XNNPACK delegate.

Both exported graphs follow what a converter produces from the Keras model: BatchNormalization
folded into the preceding convolution (as our engine, tf2onnx and the TFLite converter all do),
ReLU6 as ``Clip(0, 6)`` (ONNX) or a fused activation (TFLite), Keras's
``ZeroPadding2D((1, 1))`` + ``valid`` convolution as a symmetric pad of 1 (ONNX ``pads``; an
explicit TFLite ``PAD`` then ``VALID``, since TFLite's ``SAME`` pads stride-2 convolutions
asymmetrically), ``UpSampling2D`` as nearest-neighbour resize, ``concatenate`` on channels,
``Reshape`` + ``Softmax``. ONNX convolutions are NCHW, so the graph transposes NHWC->NCHW at the
input and back before the reshape; its interface is the Keras model's, ``[1, H, W, 3]`` ->
``[1, H/2*W/2, classes]``.

Agreement: one seeded input in [-1, 1) (already "preprocessed": every engine gets the identical
float32 tensor) goes through every engine at every size and thread count; the table gives the
largest absolute difference of the probabilities and the share of pixels whose argmax agrees,
against our ``infer`` output. If Keras is importable (``tools/requirements.txt``), the Keras
model is built with the same weights and compared too, and the safetensors file is checked to
be exactly what ``convert_keras.py`` makes of the saved ``.keras`` model. A difference above
``--tolerance`` makes the script exit with status 1.

Timing: for each input size and thread count, ``--rounds`` interleaved rounds; in each round
every engine (in an order rotated from round to round) does 3 untimed warm-up runs and then
``--runs`` timed runs, and the round's figure is the median of those runs. The reported figure is
the median over rounds (with the min-max of the round medians). This is what
``mobilenet-unet bench --runs K --threads N --json`` reports for ours (3 warm-up runs, then the
median of K runs of ``Model::predict``, timed inside the process, batch 1), so each round of ours
is one ``bench`` subprocess; the in-process engines time one inference call with
``time.perf_counter`` (input copy, run, output fetch). ``bench`` feeds its own fixed input
pattern, not the seeded input above; latency of these float kernels does not depend on the
values. Engine settings:

* ours: ``--threads N`` (rayon pool of N threads);
* ONNX Runtime: ``intra_op_num_threads=N``, ``inter_op_num_threads=1``, ``ORT_SEQUENTIAL``,
  ``ORT_ENABLE_ALL``;
* OpenVINO: ``INFERENCE_NUM_THREADS=N``, ``PERFORMANCE_HINT=LATENCY``,
  ``INFERENCE_PRECISION_HINT=f32`` (it would otherwise run bf16 on CPUs with AVX512-BF16/AMX);
* LiteRT: ``num_threads=N``, default op resolver (XNNPACK delegate for float). XNNPACK does not
  take ``RESIZE_NEAREST_NEIGHBOR``, so the graph runs as 4 delegated partitions with the 3
  resizes on LiteRT's own kernel in between, as a converted Keras model would.

Timings are only meaningful on an otherwise idle machine; compare within one run.

Usage
-----
    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements-compare.txt
    cargo build --release -p mobilenet-unet-cli
    .venv/bin/python tools/compare_engines.py --quick                 # smoke test, ~15 s
    .venv/bin/python tools/compare_engines.py --out docs/figures/engine_comparison.md

``--out X.md`` writes the markdown table (date, CPU, engine versions, settings, latency and
agreement) and ``X.json`` (every round's figure) next to it; without it the table is printed.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from convert_keras import BN_VARS, N_BLOCKS, expected_shapes  # noqa: E402
from st_write import save_safetensors  # noqa: E402

# The seed network.
ALPHA = 1.0
N_CLASSES = 2
L1_SKIP = False
DECODER_ACTIVATION = "none"
BN_EPSILON = 1e-3
STRIDE2_BLOCKS = (2, 4, 6)  # depthwise blocks with stride 2 (conv1 is stride 2 too)
TAP_BLOCKS = {1: "f1", 3: "f2", 5: "f3", 11: "f4"}  # block whose output is each skip level
WARMUP = 3  # fixed by `mobilenet-unet bench`; used for every engine
ENGINES = ("ours", "onnxruntime", "openvino", "tflite")
ENGINE_TITLES = {"ours": "ours (mobilenet-unet)", "onnxruntime": "ONNX Runtime",
                 "openvino": "OpenVINO", "tflite": "LiteRT (TFLite)", "keras": "Keras 3 (JAX)"}
SETTINGS = {  # what each engine is configured with, N = the thread count
    "ours": "`bench --threads N` (rayon pool of N), 3 warm-ups, median of the timed runs",
    "onnxruntime": "CPUExecutionProvider, intra_op_num_threads N, inter_op_num_threads 1, "
                   "ORT_SEQUENTIAL, ORT_ENABLE_ALL",
    "openvino": "CPU plugin on the same ONNX file, INFERENCE_NUM_THREADS N, PERFORMANCE_HINT "
                "LATENCY, INFERENCE_PRECISION_HINT f32",
    "tflite": "Interpreter(num_threads=N), default op resolver (XNNPACK delegate for float)",
}
INSTALL_HINT = ".venv/bin/pip install -r tools/requirements-compare.txt"


class CompareError(Exception):
    """A setup problem (missing engine, missing binary, bad argument): one line, exit 2."""


# ---------------------------------------------------------------------------------------------
# Weights


def random_weights(seed):
    """Seeded random weights under our safetensors names, with Keras's shapes (float32).

    Kernels are He-uniform, biases and BN beta/mean in [-0.5, 0.5), gamma in [0.5, 1.5) and
    moving variance in [0.5, 2.0): the ranges ``Weights::random`` uses on the Rust side.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in sorted(expected_shapes(ALPHA, N_CLASSES, L1_SKIP).items()):
        kind = name.rsplit("/", 1)[1]
        if kind == "kernel":
            a = np.sqrt(3.0 / (shape[0] * shape[1] * shape[2]))
            lo, hi = -a, a
        elif kind in ("bias", "beta", "moving_mean"):
            lo, hi = -0.5, 0.5
        elif kind == "gamma":
            lo, hi = 0.5, 1.5
        else:  # moving_variance
            lo, hi = 0.5, 2.0
        out[name] = rng.uniform(lo, hi, size=shape).astype(np.float32)
    return out


def safetensors_metadata(size):
    """The ``__metadata__`` convert_keras.py writes for this model."""
    return {
        "format": "mobilenet-unet", "format_version": "1", "alpha": "1", "depth_multiplier": "1",
        "n_classes": str(N_CLASSES), "l1_skip_conn": "true" if L1_SKIP else "false",
        "decoder_activation": DECODER_ACTIVATION, "bn_epsilon": repr(BN_EPSILON),
        "preprocessing": "divide", "input_height": str(size[0]), "input_width": str(size[1]),
    }


def folded(weights, conv, bn):
    """(kernel in Keras layout, bias) of ``conv`` with BatchNorm ``bn`` folded in (float64 math).

    Keras computes ``gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta``; the per-channel
    scale applies to the kernel's last axis (Conv2D ``[kh, kw, cin, cout]``) or to the channel
    axis of a depthwise kernel (``[kh, kw, c, 1]``).
    """
    k = weights[conv + "/kernel"].astype(np.float64)
    cout = k.shape[2] if conv.startswith("conv_dw_") else k.shape[3]
    b = weights.get(conv + "/bias", np.zeros(cout)).astype(np.float64)
    if bn is None:
        return k.astype(np.float32), b.astype(np.float32)
    g, beta, mean, var = (weights["%s/%s" % (bn, v)].astype(np.float64) for v in BN_VARS)
    scale = g / np.sqrt(var + BN_EPSILON)
    if conv.startswith("conv_dw_"):
        k = k * scale[None, None, :, None]
    else:
        k = k * scale[None, None, None, :]
    return k.astype(np.float32), ((b - mean) * scale + beta).astype(np.float32)


def network_steps(l1_skip=L1_SKIP, decoder_activation=DECODER_ACTIVATION):
    """The network as a list of steps, shared by the ONNX and TFLite exporters.

    Each step is a dict with ``op`` in ``conv`` (``kind`` full/dw/pw, ``stride``, ``pad`` 1 or 0,
    ``relu6``, ``bn``, and ``relu_then_bn`` for the ``relu`` decoder, whose BatchNormalization
    follows the activation and so cannot fold into the convolution), ``tap`` (remember the
    current tensor as a skip level), ``up`` (2x nearest), ``concat`` (``[current, level]`` on
    channels) and ``head`` (reshape to [1, HW, K] + softmax). The defaults are the seed's
    network; the ONNX exporter also takes the default model's (``tools/wasm/make_compare_models.py``).
    """
    steps = [dict(op="conv", name="conv1", kind="full", stride=2, pad=1, relu6=True, bn="conv1_bn")]
    for i in range(1, N_BLOCKS + 1):
        s = 2 if i in STRIDE2_BLOCKS else 1
        steps.append(dict(op="conv", name="conv_dw_%d" % i, kind="dw", stride=s, pad=1, relu6=True,
                          bn="conv_dw_%d_bn" % i))
        steps.append(dict(op="conv", name="conv_pw_%d" % i, kind="pw", stride=1, pad=0, relu6=True,
                          bn="conv_pw_%d_bn" % i))
        if i in TAP_BLOCKS:
            steps.append(dict(op="tap", level=TAP_BLOCKS[i]))
    assert decoder_activation in ("none", "relu"), decoder_activation
    skips = {1: "f3", 2: "f2", 3: "f1" if l1_skip else None}
    for d in range(1, 5):
        steps.append(dict(op="conv", name="dec%d_conv" % d, kind="full", stride=1, pad=1,
                          relu6=False, bn="dec%d_bn" % d,
                          relu_then_bn=decoder_activation == "relu"))
        if d < 4:
            steps.append(dict(op="up"))
            if skips[d]:
                steps.append(dict(op="concat", level=skips[d]))
    steps.append(dict(op="conv", name="logits_conv", kind="full", stride=1, pad=1, relu6=False,
                      bn=None))
    steps.append(dict(op="head"))
    return steps


# ---------------------------------------------------------------------------------------------
# ONNX export


def build_onnx(weights, size, path, n_classes=N_CLASSES, l1_skip=L1_SKIP,
               decoder_activation=DECODER_ACTIVATION):
    """Writes the network as an ONNX model (opset 17, IR 8) with NHWC input and Keras's output.

    The defaults are the seed's network; other widths follow from the weights' shapes."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as e:
        raise CompareError("onnx is not installed (%s): %s" % (e, INSTALL_HINT))
    h, w = size
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    const("relu6_min", np.array(0.0, np.float32))
    const("relu6_max", np.array(6.0, np.float32))
    nodes.append(helper.make_node("Transpose", ["input"], ["x_nchw"], perm=[0, 3, 1, 2]))
    cur, levels = "x_nchw", {}
    for st in network_steps(l1_skip, decoder_activation):
        op = st["op"]
        if op == "conv":
            after_act = st.get("relu_then_bn")
            k, b = folded(weights, st["name"], None if after_act else st["bn"])
            if st["kind"] == "dw":
                w_oihw, group = k.transpose(2, 3, 0, 1), k.shape[2]  # [C, 1, kh, kw]
            else:
                w_oihw, group = k.transpose(3, 2, 0, 1), 1  # HWIO -> OIHW
            p = st["pad"]
            out = st["name"]
            nodes.append(helper.make_node(
                "Conv", [cur, const(out + "/W", w_oihw), const(out + "/B", b)], [out],
                name=out, kernel_shape=list(k.shape[:2]), strides=[st["stride"]] * 2,
                pads=[p, p, p, p], group=group, dilations=[1, 1]))
            if st["relu6"]:
                nodes.append(helper.make_node("Clip", [out, "relu6_min", "relu6_max"],
                                              [out + "_relu"], name=out + "_relu"))
                out += "_relu"
            if after_act:
                nodes.append(helper.make_node("Relu", [out], [out + "_relu"], name=out + "_relu"))
                out += "_relu"
                g, beta, mean, var = (weights["%s/%s" % (st["bn"], v)].astype(np.float64)
                                      for v in BN_VARS)
                scale = g / np.sqrt(var + BN_EPSILON)
                shift = beta - mean * scale
                for op_name, v in (("Mul", scale), ("Add", shift)):
                    c = const("%s/%s" % (st["bn"], op_name), v.astype(np.float32).reshape(1, -1, 1, 1))
                    nodes.append(helper.make_node(op_name, [out, c], [out + "_" + op_name.lower()]))
                    out += "_" + op_name.lower()
            cur = out
        elif op == "tap":
            levels[st["level"]] = cur
        elif op == "up":
            out = cur + "_up"
            nodes.append(helper.make_node(
                "Resize", [cur, "", const(out + "/scales", np.array([1, 1, 2, 2], np.float32))],
                [out], name=out, mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor"))
            cur = out
        elif op == "concat":
            out = cur + "_concat"
            nodes.append(helper.make_node("Concat", [cur, levels[st["level"]]], [out], name=out, axis=1))
            cur = out
        elif op == "head":
            npix = (h // 2) * (w // 2)
            nodes.append(helper.make_node("Transpose", [cur], ["logits_nhwc"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node(
                "Reshape", ["logits_nhwc", const("head_shape", np.array([1, npix, n_classes], np.int64))],
                ["logits_flat"]))
            nodes.append(helper.make_node("Softmax", ["logits_flat"], ["probabilities"], axis=-1))
    graph = helper.make_graph(
        nodes, "mobilenet_unet_seed",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, h, w, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                       [1, (h // 2) * (w // 2), n_classes])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tools/compare_engines.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


# ---------------------------------------------------------------------------------------------
# TFLite export (LiteRT's schema bindings; no TensorFlow)


def build_tflite(weights, size, path):
    """Writes the network as a float32 TFLite flatbuffer (NHWC throughout, like the converter)."""
    try:
        from ai_edge_litert import schema_py_generated as fb
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError as e:
        raise CompareError("ai-edge-litert is not installed (%s): %s" % (e, INSTALL_HINT))
    h, w = size
    B = fb.BuiltinOperator
    tensors, buffers, ops, opcodes = [], [fb.BufferT()], [], {}

    def tensor(name, shape, data=None, dtype=fb.TensorType.FLOAT32):
        t = fb.TensorT()
        t.name, t.shape, t.type = name, list(shape), dtype
        if data is not None:
            buf = fb.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            buffers.append(buf)
            t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    def operator(code, inputs, outputs, opt_type, opt):
        if code not in opcodes:
            c = fb.OperatorCodeT()
            c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
            opcodes[code] = (len(opcodes), c)
        o = fb.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = opcodes[code][0], inputs, outputs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        ops.append(o)

    x = tensor("input", [1, h, w, 3])
    cur, shape, levels = x, [1, h, w, 3], {}
    pad_spec = tensor("pad_1_1", [4, 2], np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32),
                      fb.TensorType.INT32)
    for st in network_steps():
        op = st["op"]
        if op == "conv":
            k, b = folded(weights, st["name"], st["bn"])
            n, hh, ww = st["name"], shape[1], shape[2]
            padding = fb.Padding.VALID
            if st["name"] == "logits_conv":
                padding = fb.Padding.SAME  # Keras padding='same', stride 1: pad 1 each side
            elif st["pad"]:
                # ZeroPadding2D((1, 1)) then a 'valid' convolution.
                padded = tensor(n + "_pad", [1, hh + 2, ww + 2, shape[3]])
                operator(B.PAD, [cur, pad_spec], [padded], fb.BuiltinOptions.PadOptions, fb.PadOptionsT())
                cur, hh, ww = padded, hh + 2, ww + 2
            s = st["stride"]
            if padding == fb.Padding.SAME:
                oh, ow = -(-hh // s), -(-ww // s)
            else:
                oh, ow = (hh - k.shape[0]) // s + 1, (ww - k.shape[1]) // s + 1
            act = fb.ActivationFunctionType.RELU6 if st["relu6"] else fb.ActivationFunctionType.NONE
            if st["kind"] == "dw":
                filt = tensor(n + "/kernel", [1, 3, 3, k.shape[2]], k[:, :, :, 0][None])
                cout = k.shape[2]
                opt = fb.DepthwiseConv2DOptionsT()
                opt.depthMultiplier = 1
                code, opt_type = B.DEPTHWISE_CONV_2D, fb.BuiltinOptions.DepthwiseConv2DOptions
            else:
                filt = tensor(n + "/kernel", [k.shape[3], k.shape[0], k.shape[1], k.shape[2]],
                              k.transpose(3, 0, 1, 2))  # HWIO -> OHWI
                cout = k.shape[3]
                opt = fb.Conv2DOptionsT()
                code, opt_type = B.CONV_2D, fb.BuiltinOptions.Conv2DOptions
            opt.padding, opt.strideH, opt.strideW, opt.fusedActivationFunction = padding, s, s, act
            opt.dilationHFactor = opt.dilationWFactor = 1
            bias = tensor(n + "/bias", [cout], b)
            shape = [1, oh, ow, cout]
            out = tensor(n, shape)
            operator(code, [cur, filt, bias], [out], opt_type, opt)
            cur = out
        elif op == "tap":
            levels[st["level"]] = (cur, shape)
        elif op == "up":
            shape = [1, shape[1] * 2, shape[2] * 2, shape[3]]
            size_t = tensor("up_size_%d" % len(ops), [2], np.array(shape[1:3], np.int32),
                            fb.TensorType.INT32)
            out = tensor("up_%d" % len(ops), shape)
            opt = fb.ResizeNearestNeighborOptionsT()  # align_corners/half_pixel False: src = dst // 2
            operator(B.RESIZE_NEAREST_NEIGHBOR, [cur, size_t], [out],
                     fb.BuiltinOptions.ResizeNearestNeighborOptions, opt)
            cur = out
        elif op == "concat":
            skip, skip_shape = levels[st["level"]]
            shape = shape[:3] + [shape[3] + skip_shape[3]]
            out = tensor("concat_%d" % len(ops), shape)
            opt = fb.ConcatenationOptionsT()
            opt.axis = 3
            operator(B.CONCATENATION, [cur, skip], [out], fb.BuiltinOptions.ConcatenationOptions, opt)
            cur = out
        elif op == "head":
            flat = [1, shape[1] * shape[2], shape[3]]
            shape_t = tensor("head_shape", [3], np.array(flat, np.int32), fb.TensorType.INT32)
            reshaped = tensor("logits_flat", flat)
            opt = fb.ReshapeOptionsT()
            opt.newShape = flat
            operator(B.RESHAPE, [cur, shape_t], [reshaped], fb.BuiltinOptions.ReshapeOptions, opt)
            probs = tensor("probabilities", flat)
            opt = fb.SoftmaxOptionsT()
            opt.beta = 1.0
            operator(B.SOFTMAX, [reshaped], [probs], fb.BuiltinOptions.SoftmaxOptions, opt)
            cur = probs
    sub = fb.SubGraphT()
    sub.tensors, sub.inputs, sub.outputs, sub.operators, sub.name = tensors, [x], [cur], ops, "main"
    model = fb.ModelT()
    model.version, model.subgraphs, model.buffers = 3, [sub], buffers
    model.operatorCodes = [c for _, c in sorted(opcodes.values(), key=lambda v: v[0])]
    model.description = "mobilenet-unet seed (tools/compare_engines.py)"
    Path(path).write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))


# ---------------------------------------------------------------------------------------------
# Engines. Each has .version, .setting (one line), .run(x) -> probabilities, .time_round(x, k).


def _median_of_runs(fn, k):
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def _pkg_version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class Ours:
    name = "ours"

    def __init__(self, binary, st_path, size, threads, workdir):
        self.binary, self.st, self.size, self.threads, self.workdir = binary, st_path, size, threads, workdir
        self.tier = None
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
        self.version = out.stdout.strip().split()[-1] if out.returncode == 0 else "?"
        self.setting = "--threads %d" % threads

    def _cmd(self, *args):
        out = subprocess.run([str(self.binary), *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("%s %s failed: %s" % (self.binary, " ".join(args), out.stderr.strip()))
        return out.stdout

    def run(self, x):
        xin, yout = self.workdir / "x.npy", self.workdir / "y_ours.npy"
        np.save(xin, x)
        self._cmd("infer", "--input", str(xin), "--output", str(yout), "--weights", str(self.st),
                  "--threads", str(self.threads))
        return np.load(yout)

    def time_round(self, x, k):
        j = json.loads(self._cmd("bench", "--weights", str(self.st), "--size", "%dx%d" % self.size,
                                 "--threads", str(self.threads), "--runs", str(k), "--json"))
        if j["size"] != list(self.size) or j["batch"] != 1 or j["threads"] != self.threads:
            raise RuntimeError("bench measured %s batch %s threads %s, asked for %s batch 1 threads %d"
                               % (j["size"], j["batch"], j["threads"], list(self.size), self.threads))
        self.tier = j.get("tier")
        return float(j["median_ms"])


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, onnx_path, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name
        self.version = ort.__version__
        self.setting = "CPUExecutionProvider, intra_op %d, inter_op 1, sequential, ORT_ENABLE_ALL" % threads

    def run(self, x):
        return self.sess.run(None, {self.input: x})[0]

    def time_round(self, x, k):
        return _median_of_runs(lambda: self.sess.run(None, {self.input: x}), k)


class OpenVino:
    name = "openvino"

    def __init__(self, onnx_path, threads):
        import openvino as ov
        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": str(threads), "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        self.req = self.compiled.create_infer_request()
        self.version = ov.get_version()
        got = {}
        for key in ("INFERENCE_NUM_THREADS", "PERFORMANCE_HINT", "INFERENCE_PRECISION_HINT", "NUM_STREAMS"):
            v = self.compiled.get_property(key)  # as compiled: checks the f32 request was honoured
            got[key] = v.to_string() if hasattr(v, "to_string") else str(v)
        self.setting = ", ".join("%s %s" % kv for kv in got.items())

    def run(self, x):
        return np.array(self.req.infer({0: x})[0])

    def time_round(self, x, k):
        return _median_of_runs(lambda: self.req.infer({0: x}), k)


class LiteRt:
    name = "tflite"

    def __init__(self, tflite_path, threads):
        from ai_edge_litert.interpreter import Interpreter
        self.interp = Interpreter(model_path=str(tflite_path), num_threads=threads)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]["index"]
        self.out = self.interp.get_output_details()[0]["index"]
        self.version = _pkg_version("ai-edge-litert")
        self.setting = "num_threads %d, default op resolver (XNNPACK delegate)" % threads

    def run(self, x):
        self.interp.set_tensor(self.inp, x)
        self.interp.invoke()
        return self.interp.get_tensor(self.out)

    def time_round(self, x, k):
        return _median_of_runs(lambda: self.run(x), k)


def available_engines(requested):
    """The engines to run: requested ones must import, defaulted ones are skipped with a note."""
    modules = {"onnxruntime": "onnxruntime", "openvino": "openvino", "tflite": "ai_edge_litert.interpreter"}
    engines, notes = [], []
    explicit = requested is not None
    for e in requested or ENGINES:
        if e not in ENGINES:
            raise CompareError("--engines: unknown engine %r (known: %s)" % (e, ", ".join(ENGINES)))
        if e in modules:
            try:
                __import__(modules[e])
            except ImportError as err:
                if explicit:
                    raise CompareError("engine %s: cannot import %s (%s); %s"
                                       % (e, modules[e], err, INSTALL_HINT))
                notes.append("%s skipped: cannot import %s (%s)" % (ENGINE_TITLES[e], modules[e], err))
                continue
        engines.append(e)
    return engines, notes


# ---------------------------------------------------------------------------------------------
# Keras cross-check (optional)


def keras_check(weights, sizes, inputs, st_paths, workdir):
    """Keras's probabilities per size, and whether convert_keras.py reproduces our tensors.

    Returns (dict size -> probabilities, note) or (None, reason) if Keras is not importable.
    """
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import keras  # noqa: F401
        from mobilenet_unet_keras import mobilenet_unet
    except ImportError as e:
        return None, "Keras not checked: cannot import it (%s); see tools/requirements.txt" % e
    import convert_keras
    from safetensors.numpy import load_file

    outs, note = {}, ""
    for i, size in enumerate(sizes):
        model = mobilenet_unet(N_CLASSES, size[0], size[1], alpha=ALPHA, l1_skip_conn=L1_SKIP,
                               decoder_activation=DECODER_ACTIVATION)
        for layer in model.layers:
            if not layer.weights:
                continue
            names = ["kernel", "bias"] if not layer.name.endswith("_bn") else list(BN_VARS)
            layer.set_weights([weights["%s/%s" % (layer.name, n)] for n in names
                               if "%s/%s" % (layer.name, n) in weights])
        outs[size] = np.asarray(model.predict(inputs[size], verbose=0))
        if i == 0:
            # The safetensors file must be exactly what the converter makes of this Keras model.
            kpath, cpath = workdir / "seed.keras", workdir / "seed_from_keras.safetensors"
            model.save(str(kpath))
            rc = convert_keras.main([str(kpath), str(cpath), "-q", "--preprocessing", "divide"])
            if rc != 0:
                raise RuntimeError("convert_keras.py failed on the saved Keras model")
            ours, conv = load_file(str(st_paths[size])), load_file(str(cpath))
            same = ours.keys() == conv.keys() and all(np.array_equal(ours[k], conv[k]) for k in ours)
            if not same:
                raise RuntimeError("convert_keras.py of the Keras model differs from our safetensors")
            note = ("convert_keras.py of the saved .keras model gives the same %d tensors, bit for bit"
                    % len(ours))
    return outs, note


# ---------------------------------------------------------------------------------------------
# Reporting


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown"


def git_commit():
    out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "?"


def fmt_size(size):
    return "%dx%d" % size


def markdown(report):
    eng = report["engines"]
    lines = [
        "# Engine comparison: the seed's MobileNet-UNet on CPU",
        "",
        "Generated by `tools/compare_engines.py %s` on %s (git %s)." % (
            " ".join(report["argv"]), report["date"], report["git"]),
        "",
        "* Model: alpha %s, %d classes, decoder activation %s, float32, batch 1, seeded random "
        "weights (seed %d) with random BatchNorm statistics." % (
            report["alpha"], report["n_classes"], DECODER_ACTIVATION, report["seed"]),
        "* CPU: %s, %d logical CPUs." % (report["cpu"], report["cpus"]),
        "* Method: %d interleaved round(s) (engine order rotated each round); per round each engine "
        "runs %d untimed warm-ups then %d timed inferences, and the round's figure is their "
        "median. Table: median of the round medians in ms (min-max of the round medians)." % (
            report["rounds"], WARMUP, report["runs"]),
        "* Engines:",
    ]
    for e in eng:
        lines.append("  * %s %s: %s" % (ENGINE_TITLES[e], report["versions"].get(e, "?"),
                                         report["settings"][e]))
    for n in report["notes"]:
        lines.append("* %s" % n)
    lines += ["", "## Latency (ms per inference)", ""]
    lines.append("| input | threads | " + " | ".join(ENGINE_TITLES[e] for e in eng) + " |")
    lines.append("|---|---:|" + "---:|" * len(eng))
    for r in report["results"]:
        cells = []
        ours = r["timing"].get("ours", {}).get("median_ms")
        for e in eng:
            t = r["timing"].get(e)
            if t is None:
                cells.append("-")
                continue
            c = "%.1f (%.1f-%.1f)" % (t["median_ms"], t["min_ms"], t["max_ms"])
            if ours and e != "ours":
                c += " x%.2f" % (t["median_ms"] / ours)
            cells.append(c)
        lines.append("| %s | %d | %s |" % (r["size"], r["threads"], " | ".join(cells)))
    if "ours" in eng and len(eng) > 1:
        lines += ["", "xN: that engine's median divided by ours (above 1: ours is faster)."]
    lines += ["", "## Agreement (probabilities vs ours `infer`, same float32 input)", "",
              "| input | threads | engine | max abs diff | argmax agreement |", "|---|---:|---|---:|---:|"]
    for r in report["results"]:
        for e, a in r["agreement"].items():
            lines.append("| %s | %s | %s | %.2e | %.4f%% |" % (
                r["size"], r["threads"] if e != "keras" else "-", ENGINE_TITLES[e],
                a["max_abs_diff"], 100 * a["argmax_agreement"]))
    lines.append("")
    spans = {r["size"]: r["reference_range"] for r in report["results"]}
    lines.append("Our probabilities span %s (not saturated, so the differences mean something)." % ", ".join(
        "[%.3f, %.3f] at %s" % (lo, hi, size) for size, (lo, hi) in spans.items()))
    lines.append("Tolerance %.0e: %s." % (report["tolerance"], "all within" if report["agree"] else "EXCEEDED"))
    return "\n".join(lines) + "\n"


def agreement(ref, y):
    y = np.asarray(y, np.float32).reshape(ref.shape)
    return {"max_abs_diff": float(np.max(np.abs(ref - y))),
            "argmax_agreement": float(np.mean(np.argmax(ref, -1) == np.argmax(y, -1)))}


# ---------------------------------------------------------------------------------------------
# Main


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        try:
            h, w = (int(v) for v in item.strip().lower().split("x"))
        except ValueError:
            raise CompareError("--sizes %r: expected HxW[,HxW...], e.g. 224x224,416x608" % text)
        if h <= 0 or w <= 0 or h % 16 or w % 16:
            raise CompareError("--sizes: %dx%d: height and width must be positive multiples of 16" % (h, w))
        sizes.append((h, w))
    return sizes


def parse_threads(text):
    try:
        threads = [int(v) for v in text.split(",")]
    except ValueError:
        raise CompareError("--threads %r: expected N[,N...], e.g. 1,2" % text)
    if any(t < 1 for t in threads):
        raise CompareError("--threads: thread counts must be at least 1")
    return threads


def run(args):
    sizes = parse_sizes(args.sizes if args.sizes is not None
                        else ("224x224" if args.quick else "224x224,416x608"))
    threads = parse_threads(args.threads if args.threads is not None else ("1" if args.quick else "1,2"))
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 7)
    runs = args.runs if args.runs is not None else (2 if args.quick else 10)
    if rounds < 1 or runs < 1:
        raise CompareError("--rounds and --runs must be at least 1")
    binary = Path(args.binary)
    if not binary.is_file():
        raise CompareError("%s not found: build it with `cargo build --release -p mobilenet-unet-cli` "
                           "or pass --binary" % binary)
    engines, notes = available_engines(args.engines.split(",") if args.engines else None)
    if max(threads) > (os.cpu_count() or 1):
        notes.append("more threads (%d) than logical CPUs (%d)" % (max(threads), os.cpu_count()))

    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="compare_engines_")
        workdir = Path(tmp)
    try:
        return _run(args, sizes, threads, rounds, runs, binary, engines, notes, workdir)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _run(args, sizes, threads, rounds, runs, binary, engines, notes, workdir):
    weights = random_weights(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    inputs = {s: rng.uniform(-1, 1, size=(1, s[0], s[1], 3)).astype(np.float32) for s in sizes}
    st_paths, onnx_paths, tflite_paths = {}, {}, {}
    for s in sizes:
        st_paths[s] = workdir / ("seed_%s.safetensors" % fmt_size(s))
        save_safetensors(st_paths[s], weights, metadata=safetensors_metadata(s))
        if "onnxruntime" in engines or "openvino" in engines:
            onnx_paths[s] = workdir / ("seed_%s.onnx" % fmt_size(s))
            build_onnx(weights, s, onnx_paths[s])
        if "tflite" in engines:
            tflite_paths[s] = workdir / ("seed_%s.tflite" % fmt_size(s))
            build_tflite(weights, s, tflite_paths[s])
    log("models written to %s" % workdir)

    keras_out = None
    if not args.no_keras:
        log("Keras cross-check ...")
        keras_out, note = keras_check(weights, sizes, inputs, st_paths, workdir)
        if note:
            notes.append(note)

    versions, results = {}, []
    ok = True
    for s in sizes:
        for n in threads:
            log("%s, %d thread(s): loading engines" % (fmt_size(s), n))
            live = {}
            for e in engines:
                if e == "ours":
                    live[e] = Ours(binary, st_paths[s], s, n, workdir)
                elif e == "onnxruntime":
                    live[e] = OnnxRuntime(onnx_paths[s], n)
                elif e == "openvino":
                    live[e] = OpenVino(onnx_paths[s], n)
                else:
                    live[e] = LiteRt(tflite_paths[s], n)
                versions[e] = live[e].version
            # Agreement: ours `infer` is the reference (itself verified against Keras).
            x = inputs[s]
            ref = np.asarray(Ours(binary, st_paths[s], s, n, workdir).run(x), np.float32)
            agree = {}
            for e, eng in live.items():
                if e != "ours":
                    agree[e] = agreement(ref, eng.run(x))
            if keras_out is not None and n == threads[0]:
                agree["keras"] = agreement(ref, keras_out[s])
            for e, a in agree.items():
                log("  %-12s max |dp| %.2e  argmax agreement %.4f%%" % (
                    e, a["max_abs_diff"], 100 * a["argmax_agreement"]))
                ok &= a["max_abs_diff"] <= args.tolerance
            # Timing: interleaved rounds, order rotated.
            per_round = {e: [] for e in live}
            order = list(live)
            for r in range(rounds):
                rot = order[r % len(order):] + order[:r % len(order)]
                for e in rot:
                    per_round[e].append(live[e].time_round(x, runs))
                log("  round %d/%d: %s" % (r + 1, rounds, "  ".join(
                    "%s %.1f ms" % (e, per_round[e][-1]) for e in order)))
            if "ours" in live and live["ours"].tier:
                versions["ours"] = "%s (tier %s)" % (live["ours"].version, live["ours"].tier)
            timing = {e: {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v),
                          "round_medians_ms": v} for e, v in per_round.items()}
            results.append({"size": fmt_size(s), "threads": n, "timing": timing, "agreement": agree,
                            "reference_range": [float(ref.min()), float(ref.max())],
                            "settings": {e: eng.setting for e, eng in live.items()}})
            del live

    report = {
        "argv": sys.argv[1:], "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": git_commit(), "cpu": cpu_model(), "cpus": os.cpu_count(), "seed": args.seed,
        "alpha": ALPHA, "n_classes": N_CLASSES, "rounds": rounds, "runs": runs, "warmup": WARMUP,
        "engines": engines, "versions": versions, "settings": {e: SETTINGS[e] for e in engines},
        "notes": notes,
        "tolerance": args.tolerance, "agree": ok, "results": results,
        "python": sys.version.split()[0], "numpy": np.__version__,
        "packages": {d: _pkg_version(d) for d in ("onnx", "onnxruntime", "openvino", "ai-edge-litert")},
    }
    text = markdown(report)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        log("wrote %s and %s" % (out, out.with_suffix(".json")))
    else:
        print(text)
    if not ok:
        log("compare_engines: outputs disagree by more than --tolerance %g" % args.tolerance)
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for what is measured and how.")
    p.add_argument("--sizes", help="input sizes HxW, comma-separated (default 224x224,416x608)")
    p.add_argument("--threads", help="thread counts, comma-separated (default 1,2)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 7)")
    p.add_argument("--runs", type=int, help="timed runs per engine per round (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: defaults become 224x224, 1 thread, 1 round, 2 runs")
    p.add_argument("--engines", help="comma-separated subset of %s (default: all installed; a "
                   "requested engine that is missing is an error)" % ",".join(ENGINES))
    p.add_argument("--binary", default=str(REPO / "target" / "release" / "mobilenet-unet"),
                   help="our CLI (default target/release/mobilenet-unet)")
    p.add_argument("--out", help="write the markdown table here (and .json next to it), e.g. "
                   "docs/figures/engine_comparison.md; default: print it")
    p.add_argument("--workdir", help="keep the model files (safetensors, ONNX, TFLite) here "
                   "(default: a temporary folder, removed at the end)")
    p.add_argument("--seed", type=int, default=0, help="weights seed; the input uses seed+1")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed max abs difference of probabilities (default 1e-4)")
    p.add_argument("--no-keras", action="store_true", help="skip the Keras cross-check")
    args = p.parse_args(argv)
    try:
        return run(args)
    except CompareError as e:
        print("compare_engines: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
