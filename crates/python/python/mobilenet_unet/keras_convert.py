"""Convert a Keras MobileNet-UNet (the seed's architecture) to the engine's safetensors file.

    python -m mobilenet_unet.keras_convert MODEL_FILE OUT.safetensors [--decoder-activation none|relu]
        [--preprocessing sub_mean|divide|sub_and_divide] [--classes a,b,c]
        [--colors "r,g,b;r,g,b;..."] [--alpha A] [--dtype f32|f16]
        [--resize cv2_linear|antialias] [--label-resize cv2_nearest|centre]

keras-segmentation users convert what its ``train(checkpoints_path=P)`` wrote in one line,
``convert_keras.py P model.safetensors``, then run ``mobilenet-unet segment IMG --weights
model.safetensors``.

(``tools/convert_keras.py`` runs the same from a checkout, without installing the package;
``mobilenet_unet.from_keras(path)`` converts in memory and loads the model.)

Reads the weights with h5py only (Keras is not imported, the model is not rebuilt). Inputs:

* Keras 3 ``.keras``: a zip holding ``config.json`` and ``model.weights.h5``. The h5 names layers
  by class, not by layer name (``layers/conv2d_3/vars/0``, ``layers/batch_normalization_7/vars/2``):
  the k-th layer of a class in ``config.json``'s layer order is ``<snake_class>_k``. The decoder
  activation is read from the config.
* Keras 3 ``.weights.h5`` (``model.save_weights``): the same h5, without a config. Layers are
  mapped by class and position (``conv2d``, ``conv2d_1``, ... in model order); the decoder
  activation comes from ``--decoder-activation`` (default none).
* Legacy tf.keras ``.h5`` (keras_segmentation's ``model.save`` / ``save_weights``):
  ``[model_weights/]<layer>/<layer>/kernel:0`` with a ``layer_names`` attribute giving the order;
  the decoder's auto-named ``conv2d_N`` / ``batch_normalization_N`` are mapped by position. If a
  ``model_config`` attribute is present it gives the classes and the decoder activation.
* TensorFlow checkpoints (tf.keras 2's ``save_weights(P)`` without ``.h5``, as
  keras-segmentation's ``train()`` writes after each epoch: ``P.N.index`` +
  ``P.N.data-00000-of-00001``), read by ``tf_checkpoint.py`` with numpy alone, every tensor's
  crc32c checked. Give ``P`` (the highest epoch N is taken), ``P.N`` or ``P.N.index``.
  ``P_config.json``, when present, gives the number of classes (checked) and the input size.
  Layers come from the object graph (``layer_with_weights-N``) by position; optimizer slots
  and counters are skipped.

``resize`` and ``label_resize`` (default ``cv2_linear`` / ``cv2_nearest``: keras-segmentation's
``cv2.resize`` of the image and of the class map) are written to the metadata for ``segment``.

Output: tensors ``<layer>/<weight>`` with Keras shapes (conv kernel HWIO, depthwise kernel
[3,3,C,1], BN gamma/beta/moving_mean/moving_variance), only those on the output path, plus string
``__metadata__`` (see tools/README.md).
"""

import argparse
import io
import json
import os
import re
import sys
import zipfile
from decimal import Decimal

import h5py
import numpy as np

from . import tf_checkpoint
from .st_write import safetensors_bytes

PREPROCESSING = ("sub_mean", "divide", "sub_and_divide")
RESIZES = ("cv2_linear", "antialias")  # see crates/model/src/weights.rs
LABEL_RESIZES = ("cv2_nearest", "centre")
ACTIVATIONS = ("none", "relu")
PROG = "convert_keras"  # the name error lines start with (the tool's, as before the move)
BN_VARS = ("gamma", "beta", "moving_mean", "moving_variance")
N_BLOCKS = 11  # depthwise blocks on the output path (12 and 13 feed only f5, which Keras prunes)
BLOCK_FILTERS = {1: 64, 2: 128, 3: 128, 4: 256, 5: 256, **{i: 512 for i in range(6, 12)}}
DECODER_FILTERS = (512, 256, 128, 64)


class ConvertError(ValueError):
    """A problem with the input file or the arguments; printed as one line, exit status 1."""


# ---------------------------------------------------------------------------------------------
# Canonical layer order (the order of Keras's model.layers for the seed's model)


def canonical_layers():
    """(kind, name) for every weighted layer on the output path, in model order."""
    out = [("conv", "conv1"), ("bn", "conv1_bn")]
    for i in range(1, N_BLOCKS + 1):
        out += [("dw", "conv_dw_%d" % i), ("bn", "conv_dw_%d_bn" % i)]
        out += [("conv", "conv_pw_%d" % i), ("bn", "conv_pw_%d_bn" % i)]
    for d in range(1, 5):
        out += [("conv", "dec%d_conv" % d), ("bn", "dec%d_bn" % d)]
    out.append(("conv", "logits_conv"))
    return out


OFF_PATH = re.compile(r"^conv_(dw|pw)_(12|13)(_bn)?$")  # blocks 12-13: dropped if present
SEED_NAME = re.compile(r"^(conv1|conv1_bn|conv_(dw|pw)_\d+(_bn)?)$")


# ---------------------------------------------------------------------------------------------
# Readers: each returns (layers, config_layers) where layers is an ordered list of
# dict(name, kind, arrays: {weight: ndarray}) and config_layers is the config's layer list or None.


def _kind_from_class(cls):
    return {"Conv2D": "conv", "DepthwiseConv2D": "dw", "BatchNormalization": "bn"}.get(cls)


def _snake(cls):
    # keras.src.utils.naming.to_snake_case
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _functional_config(cfg):
    """The Functional model's layer list, descending into a single wrapped sub-model."""
    if not isinstance(cfg, dict) or "config" not in cfg or "layers" not in cfg["config"]:
        raise ConvertError("model config has no layer list (not a Functional model?)")
    layers = cfg["config"]["layers"]
    inner = [lyr for lyr in layers if lyr.get("class_name") in ("Functional", "Model", "Sequential")]
    if inner and not any(_kind_from_class(lyr.get("class_name")) for lyr in layers):
        if len(inner) != 1:
            raise ConvertError("model config wraps %d sub-models; expected one" % len(inner))
        return _functional_config(inner[0])
    return layers


def _keras3_groups(h5):
    """layers/<path> groups that hold vars, descending through single nested models."""
    if "layers" not in h5:
        raise ConvertError("no 'layers' group: not a Keras 3 weights file")
    grp = h5["layers"]
    keys = list(grp.keys())
    nested = [k for k in keys if "layers" in grp[k]]
    weightless = all(len(grp[k].get("vars") or ()) == 0 for k in keys if k not in nested)
    if len(nested) == 1 and weightless:
        return _keras3_groups(grp[nested[0]])
    return grp


def _vars(group):
    v = group.get("vars")
    if v is None:
        return []
    return [np.asarray(v[str(i)]) for i in range(len(v))]


def _keras3_layers(h5, config_layers):
    grp = _keras3_groups(h5)
    if config_layers is not None:
        counts, layers = {}, []
        for lyr in config_layers:
            cls = lyr["class_name"]
            base = _snake(cls)
            k = counts.get(base, 0)
            counts[base] = k + 1
            path = base if k == 0 else "%s_%d" % (base, k)
            kind = _kind_from_class(cls)
            if kind is None:
                continue
            cfg = lyr.get("config", {})
            name = lyr.get("name") or cfg.get("name")
            if path not in grp:
                raise ConvertError("layer %r (%s) has no weights at layers/%s" % (name, cls, path))
            layers.append(_named_arrays(name, kind, _vars(grp[path]), cfg))
        return layers
    # No config: class-named groups ordered by their numeric suffix (= model order).
    by_kind = {}
    for key in grp.keys():
        m = re.fullmatch(r"(conv2d|depthwise_conv2d|batch_normalization)(?:_(\d+))?", key)
        if m:
            by_kind.setdefault(m.group(1), []).append((int(m.group(2) or 0), key))
    kinds = {"conv2d": "conv", "depthwise_conv2d": "dw", "batch_normalization": "bn"}
    layers = []
    for cls, entries in by_kind.items():
        for _, key in sorted(entries):
            layers.append(_named_arrays(None, kinds[cls], _vars(grp[key]), {}, path=key))
    return layers


def _named_arrays(name, kind, arrays, cfg, path=None):
    where = name or path
    if kind == "bn":
        if cfg.get("center", True) is False or cfg.get("scale", True) is False:
            raise ConvertError("BatchNormalization %r without center/scale is not the seed's" % where)
        if len(arrays) != 4:
            raise ConvertError("BatchNormalization %r has %d variables, expected 4" % (where, len(arrays)))
        named = dict(zip(BN_VARS, arrays))
    else:
        if len(arrays) not in (1, 2):
            raise ConvertError("%s layer %r has %d variables, expected 1 or 2" % (kind, where, len(arrays)))
        named = {"kernel": arrays[0]}
        if len(arrays) == 2:
            named["bias"] = arrays[1]
    return {"name": name, "kind": kind, "arrays": named, "config": cfg, "path": path}


def _legacy_layers(h5):
    root = h5["model_weights"] if "model_weights" in h5 else h5
    if "layer_names" not in root.attrs:
        raise ConvertError("no 'layer_names' attribute: not a tf.keras HDF5 weights file")
    config_layers = None
    if "model_config" in h5.attrs:
        raw = h5.attrs["model_config"]
        config_layers = _functional_config(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
    cfg_by_name = {lyr["config"]["name"] if "name" in lyr.get("config", {}) else lyr.get("name"): lyr
                   for lyr in (config_layers or [])}
    layers = []
    for raw_name in root.attrs["layer_names"]:
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        g = root[name]
        wnames = [w.decode() if isinstance(w, bytes) else str(w) for w in g.attrs.get("weight_names", [])]
        if not wnames:
            continue
        arrays = {}
        for w in wnames:
            short = w.split("/")[-1].split(":")[0]
            arrays[short] = np.asarray(g[w])
        lyr = cfg_by_name.get(name)
        kind = _kind_from_class(lyr["class_name"]) if lyr else None
        if kind is None:
            if "gamma" in arrays or "moving_mean" in arrays:
                kind = "bn"
            elif "depthwise_kernel" in arrays or name.startswith("conv_dw_"):
                kind = "dw"
            elif "kernel" in arrays:
                kind = "conv"
            else:
                raise ConvertError("layer %r has weights %s: not a layer of this model" % (name, wnames))
        if "depthwise_kernel" in arrays:
            arrays["kernel"] = arrays.pop("depthwise_kernel")
        missing = [w for w in (BN_VARS if kind == "bn" else ("kernel",)) if w not in arrays]
        if missing:
            raise ConvertError("layer %r lacks %s" % (name, ", ".join(missing)))
        layers.append({"name": name, "kind": kind, "arrays": arrays,
                       "config": (lyr or {}).get("config", {}), "path": name})
    return layers, config_layers


def _checkpoint_layers(prefix):
    """tf.keras 2's save_weights(PREFIX) (keras-segmentation's train() checkpoints): the
    weighted layers from the object graph, by position (the checkpoint keeps no layer names)."""
    layers = []
    for where, arrays in tf_checkpoint.keras_weighted_layers(tf_checkpoint.Checkpoint(prefix)):
        arrays = dict(arrays)
        if "depthwise_kernel" in arrays:
            kind, arrays["kernel"] = "dw", arrays.pop("depthwise_kernel")
        else:
            kind = "bn" if "gamma" in arrays or "moving_mean" in arrays else "conv"
        missing = [w for w in (BN_VARS if kind == "bn" else ("kernel",)) if w not in arrays]
        if missing:
            raise ConvertError("%s (weights %s) lacks %s" % (where, sorted(arrays), ", ".join(missing)))
        layers.append({"name": None, "kind": kind, "arrays": arrays, "config": {}, "path": where})
    return layers


def checkpoint_config(path):
    """keras-segmentation's PREFIX_config.json beside a checkpoint, or None."""
    found = tf_checkpoint.find_checkpoint(path)
    if found is None or found[1] is None:
        return None
    try:
        cfg = tf_checkpoint.read_kseg_config(found[1])
    except tf_checkpoint.CheckpointError as e:
        raise ConvertError(str(e))
    if cfg.get("model_class", "mobilenet_unet") != "mobilenet_unet":
        raise ConvertError("%s: model_class %r; only mobilenet_unet is this engine's network"
                           % (os.path.basename(found[1]), cfg["model_class"]))
    return cfg


def read_model_file(path):
    """Returns (layers, config_layers or None, format description)."""
    try:
        found = tf_checkpoint.find_checkpoint(path)
        if found is not None:
            return _checkpoint_layers(found[0]), None, "TensorFlow checkpoint %s" % found[0]
        if path.endswith(".keras") and not zipfile.is_zipfile(path):
            open(path, "rb").close()  # FileNotFoundError first
            raise ConvertError("not a valid .keras zip archive (truncated or not a .keras file?)")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "config.json" not in names or "model.weights.h5" not in names:
                    raise ConvertError("zip without config.json and model.weights.h5: not a .keras file")
                cfg = json.loads(z.read("config.json"))
                blob = io.BytesIO(z.read("model.weights.h5"))
            config_layers = _functional_config(cfg)
            with h5py.File(blob, "r") as h5:
                return _keras3_layers(h5, config_layers), config_layers, "Keras 3 .keras"
        with h5py.File(path, "r") as h5:
            if "layers" in h5:
                return _keras3_layers(h5, None), None, "Keras 3 .weights.h5"
            layers, config_layers = _legacy_layers(h5)
            return layers, config_layers, "legacy tf.keras .h5"
    except ConvertError:
        raise
    except tf_checkpoint.CheckpointError as e:
        raise ConvertError(str(e))
    except FileNotFoundError:
        raise ConvertError("no such file")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ConvertError("cannot read as a Keras model file (%s: %s)" % (type(e).__name__, e))


# ---------------------------------------------------------------------------------------------
# Mapping to canonical names


def assign_names(layers):
    """Map the file's ordered weighted layers to canonical names; returns {name: arrays}."""
    layers = [lyr for lyr in layers if not (lyr["name"] and OFF_PATH.match(lyr["name"]))]
    canon = canonical_layers()
    by_kind = {k: [lyr for lyr in layers if lyr["kind"] == k] for k in ("conv", "dw", "bn")}
    want = {k: [n for kk, n in canon if kk == k] for k in ("conv", "dw", "bn")}
    out, cfgs = {}, {}
    for k in ("conv", "dw", "bn"):
        if len(by_kind[k]) != len(want[k]):
            raise ConvertError("found %d %s layers on the output path, the seed's model has %d (%s)"
                               % (len(by_kind[k]), k, len(want[k]),
                                  ", ".join(lyr["name"] or lyr["path"] for lyr in by_kind[k])))
        for lyr, name in zip(by_kind[k], want[k]):
            got = lyr["name"]
            if got and (SEED_NAME.match(got) or SEED_NAME.match(name)) and got != name:
                raise ConvertError("layer %r is where the seed has %r: layer order differs" % (got, name))
            out[name] = lyr["arrays"]
            cfgs[name] = lyr["config"]
    return out, cfgs


def alpha_candidates(weights):
    """The interval [lo, hi) of alphas consistent with every encoder filter count."""
    counts = [(32, weights["conv1"]["kernel"].shape[3])]
    counts += [(f, weights["conv_pw_%d" % i]["kernel"].shape[3]) for i, f in BLOCK_FILTERS.items()]
    lo = max(Decimal(c) / f for f, c in counts)
    hi = min(Decimal(c + 1) / f for f, c in counts)
    if lo >= hi:
        raise ConvertError("encoder filter counts %s fit no single alpha" % [c for _, c in counts])
    return lo, hi, counts


def infer_alpha(weights):
    lo, hi, counts = alpha_candidates(weights)
    # The shortest decimal in [lo, hi), so 0.25 / 0.5 / 0.75 / 1.0 come out exactly.
    for digits in range(1, 12):
        q = Decimal(1).scaleb(-digits)
        cand = (lo / q).to_integral_value(rounding="ROUND_CEILING") * q
        if cand < hi and all(int(f * float(cand)) == c for f, c in counts):
            return cand.normalize()
    return lo


def check_alpha(weights, alpha):
    _, _, counts = alpha_candidates(weights)
    bad = [(f, c) for f, c in counts if int(f * alpha) != c]
    if bad:
        raise ConvertError("--alpha %s gives int(%d*alpha)=%d filters but the file has %d"
                           % (alpha, bad[0][0], int(bad[0][0] * alpha), bad[0][1]))


def expected_shapes(alpha, n_classes, l1_skip):
    ch = lambda f: int(f * alpha)  # noqa: E731 - the seed's int(filters * alpha)
    shp = {"conv1/kernel": (3, 3, 3, ch(32))}
    cin = ch(32)
    for i in range(1, N_BLOCKS + 1):
        shp["conv_dw_%d/kernel" % i] = (3, 3, cin, 1)
        shp["conv_pw_%d/kernel" % i] = (1, 1, cin, ch(BLOCK_FILTERS[i]))
        cin = ch(BLOCK_FILTERS[i])
    skips = (ch(256), ch(128), ch(64) if l1_skip else 0, None)
    for d, f in enumerate(DECODER_FILTERS, start=1):
        shp["dec%d_conv/kernel" % d] = (3, 3, cin, f)
        shp["dec%d_conv/bias" % d] = (f,)
        cin = f + (skips[d - 1] or 0)
    shp["logits_conv/kernel"] = (3, 3, 64, n_classes)
    shp["logits_conv/bias"] = (n_classes,)
    bn_ch = {"conv1_bn": ch(32)}
    for i in range(1, N_BLOCKS + 1):
        bn_ch["conv_dw_%d_bn" % i] = shp["conv_dw_%d/kernel" % i][2]
        bn_ch["conv_pw_%d_bn" % i] = ch(BLOCK_FILTERS[i])
    for d, f in enumerate(DECODER_FILTERS, start=1):
        bn_ch["dec%d_bn" % d] = f
    for layer, c in bn_ch.items():
        for v in BN_VARS:
            shp["%s/%s" % (layer, v)] = (c,)
    return shp


def decoder_activation_from_config(cfgs):
    acts = {cfgs["dec%d_conv" % d].get("activation") for d in range(1, 5)}
    if not acts or None in acts:
        return None
    if acts == {"relu"}:
        return "relu"
    if acts == {"linear"}:
        return "none"
    raise ConvertError("decoder convs have activations %s; supported: all linear or all relu" % sorted(acts))


def parse_colors(text, n):
    colors = []
    for item in re.split(r"[;\s]+", text.strip()):
        if not item:
            continue
        if item.startswith("#") and len(item) == 7:
            colors.append([int(item[i:i + 2], 16) for i in (1, 3, 5)])
        else:
            parts = item.split(",")
            if len(parts) != 3 or not all(p.strip().isdigit() and int(p) < 256 for p in parts):
                raise ConvertError("--colors: %r is not r,g,b (0-255) or #rrggbb" % item)
            colors.append([int(p) for p in parts])
    if len(colors) != n:
        raise ConvertError("--colors gives %d colours for %d classes" % (len(colors), n))
    return colors


def input_size_from_config(config_layers):
    """(H, W) of the model's InputLayer, or None when the config doesn't fix it."""
    for lyr in config_layers or []:
        if lyr.get("class_name") == "InputLayer":
            c = lyr.get("config", {})
            shape = c.get("batch_shape") or c.get("batch_input_shape")
            if shape and len(shape) == 4 and shape[1] and shape[2]:
                return int(shape[1]), int(shape[2])
    return None


def parse_size(text):
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConvertError("--input-size %r: expected HxW, e.g. 128x128" % text)
    if h <= 0 or w <= 0 or h % 16 or w % 16:
        raise ConvertError("--input-size %r: height and width must be positive multiples of 16" % text)
    return h, w


def _alpha(weights, given):
    """(alpha as a Decimal, how it was found): ``given`` checked against the shapes, or inferred."""
    if given is not None:
        check_alpha(weights, given)
        return Decimal(str(given)).normalize(), "given"
    alpha = infer_alpha(weights)
    lo, hi, _ = alpha_candidates(weights)
    return alpha, "inferred from filter counts (any alpha in [%s, %s) builds these shapes)" % (
        lo.normalize(), hi.normalize())


def _bn_epsilon(cfgs):
    """The BatchNormalization epsilon the saved config gives (one for all), else Keras's 1e-3."""
    eps = {cfgs[n].get("epsilon") for n in cfgs if n.endswith("_bn")} - {None}
    if len(eps) > 1:
        raise ConvertError("BatchNormalization layers use different epsilons %s" % sorted(eps))
    return eps.pop() if eps else 1e-3


def _checked_tensors(weights, expected, dtype_name):
    """{"layer/weight": C-contiguous array in ``dtype_name``} after checking every name, shape
    and value against ``expected``; every problem is named in one ConvertError."""
    tensors = {}
    for layer, arrays in weights.items():
        for w, a in arrays.items():
            tensors["%s/%s" % (layer, w)] = a
    problems = ["missing %s" % k for k in expected if k not in tensors]
    problems += ["unexpected %s" % k for k in tensors if k not in expected]
    problems += ["%s has shape %s, expected %s" % (k, list(tensors[k].shape), list(expected[k]))
                 for k in expected if k in tensors and tuple(tensors[k].shape) != expected[k]]
    problems += ["%s has non-finite values" % k for k, a in tensors.items() if not np.all(np.isfinite(a))]
    if problems:
        raise ConvertError("; ".join(problems))
    dtype = np.float16 if dtype_name == "f16" else np.float32
    out = {k: np.ascontiguousarray(a.astype(dtype)) for k, a in tensors.items()}
    if dtype == np.float16:
        over = [k for k, a in out.items() if not np.all(np.isfinite(a))]
        if over:
            raise ConvertError("values overflow float16 in %s; use --dtype f32" % ", ".join(over))
    return out


def _input_size(given, config_layers, kseg):
    """(height, width) from ``--input-size``, else the saved config's Input, else
    keras-segmentation's ``PREFIX_config.json``; None if none says."""
    size = parse_size(given) if given else input_size_from_config(config_layers)
    if size is None and "input_height" in kseg and "input_width" in kseg:
        size = parse_size("%dx%d" % (kseg["input_height"], kseg["input_width"]))
    return size


def convert_to_bytes(args):
    """Reads ``args.model`` and returns (format, alpha note, metadata, tensor count, safetensors
    bytes); ``args`` holds main()'s options (see ``options``)."""
    layers, config_layers, fmt = read_model_file(args.model)
    weights, cfgs = assign_names(layers)
    n_classes = int(weights["logits_conv"]["kernel"].shape[3])
    kseg = checkpoint_config(args.model) or {}
    if kseg.get("n_classes", n_classes) != n_classes:
        raise ConvertError("the checkpoint's config says %d classes, logits_conv has %d"
                           % (kseg["n_classes"], n_classes))

    alpha, alpha_note = _alpha(weights, args.alpha)
    alpha_f = float(alpha)
    l1_cin = weights["dec4_conv"]["kernel"].shape[2]
    l1_skip = l1_cin == 128 + int(64 * alpha_f)
    if not l1_skip and l1_cin != 128:
        raise ConvertError("dec4_conv/kernel has %d input channels: neither 128 nor 128+f1" % l1_cin)

    act = decoder_activation_from_config(cfgs) if config_layers is not None else None
    if act is not None and args.decoder_activation is not None and act != args.decoder_activation:
        raise ConvertError("--decoder-activation %s contradicts the saved config (%s)"
                           % (args.decoder_activation, act))
    act = act or args.decoder_activation or "none"

    eps = _bn_epsilon(cfgs)
    out = _checked_tensors(weights, expected_shapes(alpha_f, n_classes, l1_skip), args.dtype)

    meta = {
        "format": "mobilenet-unet",
        "format_version": "1",
        "alpha": str(alpha),
        "depth_multiplier": "1",
        "n_classes": str(n_classes),
        "l1_skip_conn": "true" if l1_skip else "false",
        "decoder_activation": act,
        "bn_epsilon": repr(float(eps)),
        "preprocessing": args.preprocessing,
        "resize": args.resize,
        "label_resize": args.label_resize,
    }
    size = _input_size(args.input_size, config_layers, kseg)
    if size is not None:
        # The size the model was built (trained) at: what `segment` resizes images to.
        meta["input_height"], meta["input_width"] = str(size[0]), str(size[1])
    if args.classes is not None:
        names = [c.strip() for c in args.classes.split(",")]
        if len(names) != n_classes:
            raise ConvertError("--classes gives %d names for %d classes" % (len(names), n_classes))
        meta["class_names"] = json.dumps(names)
    if args.colors is not None:
        meta["class_colors"] = json.dumps(parse_colors(args.colors, n_classes))
    return fmt, alpha_note, meta, len(out), safetensors_bytes(out, metadata=meta)


def options(model, out=None, decoder_activation=None, preprocessing="sub_mean", classes=None,
            colors=None, alpha=None, input_size=None, dtype="f32", resize="cv2_linear",
            label_resize="cv2_nearest"):
    """main()'s options as keyword arguments (``classes`` and ``colors`` in the CLI's text form)."""
    return argparse.Namespace(model=str(model), out=out, decoder_activation=decoder_activation,
                              preprocessing=preprocessing, classes=classes, colors=colors,
                              alpha=alpha, input_size=input_size, dtype=dtype, resize=resize,
                              label_resize=label_resize)


def convert(args):
    """Converts ``args.model`` and writes ``args.out``; returns (format, alpha note, metadata, n)."""
    fmt, alpha_note, meta, n, data = convert_to_bytes(args)
    with open(args.out, "wb") as f:
        f.write(data)
    return fmt, alpha_note, meta, n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help=".keras, .weights.h5 (Keras 3), legacy tf.keras .h5, or a TensorFlow "
                   "checkpoint: keras-segmentation's checkpoints_path PREFIX (its highest epoch), "
                   "PREFIX.N or PREFIX.N.index")
    p.add_argument("out", help="output .safetensors")
    p.add_argument("--decoder-activation", choices=ACTIVATIONS, default=None,
                   help="for files without a config (default none = the seed)")
    p.add_argument("--preprocessing", choices=PREPROCESSING, default="sub_mean")
    p.add_argument("--resize", choices=RESIZES, default="cv2_linear",
                   help="how segment resizes images to the model's input (default: as "
                   "keras-segmentation, cv2.resize INTER_LINEAR)")
    p.add_argument("--label-resize", choices=LABEL_RESIZES, default="cv2_nearest",
                   help="how the class map is scaled to the image (default: cv2 INTER_NEAREST)")
    p.add_argument("--classes", help="comma-separated class names")
    p.add_argument("--colors", help='class colours, "r,g,b;r,g,b;..." or "#rrggbb;..."')
    p.add_argument("--alpha", type=float, help="width multiplier (default: inferred from shapes)")
    p.add_argument("--input-size", help="native input size HxW stored in the metadata "
                   "(default: the saved config's Input shape, if any)")
    p.add_argument("--dtype", choices=("f32", "f16"), default="f32")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    try:
        fmt, alpha_note, meta, n = convert(args)
    except ConvertError as e:
        print("%s: %s: %s" % (PROG, args.model, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("%s: %s: cannot write %s" % (PROG, args.out, e), file=sys.stderr)
        return 1
    if not args.quiet:
        print("%s (%s) -> %s: %d tensors, %s" % (args.model, fmt, args.out, n, args.dtype), file=sys.stderr)
        print("  alpha %s %s; n_classes %s; l1_skip_conn %s; decoder_activation %s"
              % (meta["alpha"], alpha_note, meta["n_classes"], meta["l1_skip_conn"],
                 meta["decoder_activation"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
