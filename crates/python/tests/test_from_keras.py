"""mobilenet_unet.from_keras on the three Keras file layouts, without Keras.

The files are written here with h5py in the layouts Keras writes them (the converter's own
test, tools/test_convert_keras.py, checks these layouts against files saved by real Keras),
holding the weights of the committed Keras fixtures; the model they load must give the
fixture's weights' results bit for bit, and so Keras's within 1e-4.
"""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from conftest import FIXTURES, KERAS_CASES, read_safetensors

import mobilenet_unet
from mobilenet_unet import keras_convert

KERAS_VARS = {"conv": ("kernel", "bias"), "dw": ("kernel",), "bn": keras_convert.BN_VARS}
CLASSES = {"conv": "Conv2D", "dw": "DepthwiseConv2D", "bn": "BatchNormalization"}


def _layers(case):
    """(kind, name, [arrays in Keras's variable order]) on the output path, in model order."""
    tensors, meta = read_safetensors(FIXTURES / (case + ".weights.safetensors"))
    out = []
    for kind, name in keras_convert.canonical_layers():
        arrays = [tensors["%s/%s" % (name, v)].astype(np.float32)
                  for v in KERAS_VARS[kind] if "%s/%s" % (name, v) in tensors]
        out.append((kind, name, arrays))
    return out, meta


def write_legacy_h5(path, layers):
    """tf.keras 2's HDF5: model_weights/<layer>/<layer>/<var>:0 and name attributes."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = [n.encode() for _, n, _ in layers]
        for kind, name, arrays in layers:
            g = root.create_group(name)
            names = ["depthwise_kernel" if kind == "dw" else v for v in KERAS_VARS[kind]][:len(arrays)]
            g.attrs["weight_names"] = [("%s/%s:0" % (name, v)).encode() for v in names]
            for v, a in zip(names, arrays):
                g.create_dataset("%s/%s:0" % (name, v), data=a)


def _keras3_weights(f, layers):
    counts = {}
    for kind, name, arrays in layers:
        base = {"conv": "conv2d", "dw": "depthwise_conv2d", "bn": "batch_normalization"}[kind]
        k = counts.get(base, 0)
        counts[base] = k + 1
        g = f.create_group("layers/%s/vars" % (base if k == 0 else "%s_%d" % (base, k)))
        for i, a in enumerate(arrays):
            g.create_dataset(str(i), data=a)


def write_weights_h5(path, layers):
    """Keras 3's model.save_weights: layers/<class>_<k>/vars/<i>, no config."""
    with h5py.File(path, "w") as f:
        _keras3_weights(f, layers)


def write_dot_keras(path, layers, meta):
    """Keras 3's .keras: a zip of config.json (the layer list) and model.weights.h5."""
    act = "relu" if meta["decoder_activation"] == "relu" else "linear"
    cfg_layers = [{"class_name": "InputLayer", "name": "input_layer",
                   "config": {"name": "input_layer", "batch_shape": [None, 64, 64, 3]}}]
    for kind, name, _ in layers:
        c = {"name": name}
        if kind == "bn":
            c["epsilon"] = float(meta.get("bn_epsilon", 1e-3))
        if name.startswith("dec"):
            c["activation"] = act
        cfg_layers.append({"class_name": CLASSES[kind], "name": name, "config": c})
    blob = io.BytesIO()
    with h5py.File(blob, "w") as f:
        _keras3_weights(f, layers)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Functional",
                                              "config": {"layers": cfg_layers}}))
        z.writestr("model.weights.h5", blob.getvalue())


@pytest.mark.parametrize("case", KERAS_CASES)
def test_from_keras_equals_the_fixture_and_keras(case, tmp_path):
    layers, meta = _layers(case)
    io_tensors, _ = read_safetensors(FIXTURES / (case + ".io.safetensors"))
    x = np.ascontiguousarray(io_tensors["input"])
    expected = mobilenet_unet.Model.load(FIXTURES / (case + ".weights.safetensors")).predict(x)
    act = meta["decoder_activation"]
    files = {"legacy .h5": tmp_path / "m.h5", ".weights.h5": tmp_path / "m.weights.h5",
             ".keras": tmp_path / "m.keras"}
    write_legacy_h5(files["legacy .h5"], layers)
    write_weights_h5(files[".weights.h5"], layers)
    write_dot_keras(files[".keras"], layers, meta)
    for kind, path in files.items():
        model = mobilenet_unet.from_keras(path, decoder_activation=None if kind == ".keras" else act,
                                          class_names=["c%d" % i for i in range(int(meta["n_classes"]))])
        probs = model.predict(x)
        diff = float(np.abs(probs - io_tensors["output"]).max())
        print("%s from %s: bit-identical to the fixture's weights: %s; max |diff| vs Keras %.3g"
              % (case, kind, np.array_equal(probs, expected), diff))
        assert np.array_equal(probs, expected)
        assert diff <= 1e-4
        assert model.class_names[0] == "c0"


def test_from_keras_reports_the_converters_problem(tmp_path):
    layers, _ = _layers("a025_k3_64x64")
    write_legacy_h5(tmp_path / "short.h5", layers[:-1])  # no logits_conv
    with pytest.raises(ValueError, match="conv layers"):
        mobilenet_unet.from_keras(tmp_path / "short.h5")
    with pytest.raises(ValueError, match="class_names"):
        mobilenet_unet.from_keras(tmp_path / "short.h5", class_names=["a,b"])


def test_module_command_line_writes_the_same_model(tmp_path):
    """`python -m mobilenet_unet.keras_convert` (what tools/convert_keras.py runs) writes the
    file from_keras loads in memory, and reports a bad file in one line."""
    import subprocess
    import sys

    layers, _ = _layers("a050_k5_64x96_b2")
    write_legacy_h5(tmp_path / "m.h5", layers)
    out = tmp_path / "m.safetensors"
    r = subprocess.run([sys.executable, "-m", "mobilenet_unet.keras_convert", str(tmp_path / "m.h5"),
                        str(out), "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    x = np.random.default_rng(1).standard_normal((1, 64, 96, 3)).astype(np.float32)
    assert np.array_equal(mobilenet_unet.Model.load(out).predict(x),
                          mobilenet_unet.from_keras(tmp_path / "m.h5").predict(x))
    r = subprocess.run([sys.executable, "-m", "mobilenet_unet.keras_convert", str(out), str(out) + "2"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and r.stderr.startswith("convert_keras: ")


def test_from_keras_reads_keras_segmentations_checkpoints(tmp_path):
    """What keras-segmentation's train(checkpoints_path=P) leaves: P.N.index + data shard per
    epoch and P_config.json. from_keras(P) takes the highest epoch; the checkpoint is written
    here by tools/test_tf_checkpoint.py's writer (the layout TensorFlow 2.15 writes, checked
    there against a checkpoint TensorFlow wrote)."""
    import sys

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from test_tf_checkpoint import write_keras_checkpoint
    finally:
        sys.path.pop(0)
    case = "a025_k4_96x160_relu_l1"
    layers, meta = _layers(case)
    ckpt = [{("depthwise_kernel" if kind == "dw" else v): a for v, a in zip(KERAS_VARS[kind], arrays)}
            for kind, _, arrays in layers]
    prefix = str(tmp_path / "mobilenet_unet_1")
    write_keras_checkpoint(prefix + ".0", [{k: a * 0 for k, a in d.items()} for d in ckpt])
    write_keras_checkpoint(prefix + ".3", ckpt)
    with open(prefix + "_config.json", "w") as f:
        json.dump({"model_class": "mobilenet_unet", "n_classes": 4, "input_height": 96,
                   "input_width": 160, "output_height": 48, "output_width": 80}, f)
    io_tensors, _ = read_safetensors(FIXTURES / (case + ".io.safetensors"))
    x = np.ascontiguousarray(io_tensors["input"])
    expected = mobilenet_unet.Model.load(FIXTURES / (case + ".weights.safetensors")).predict(x)
    for given in (prefix, prefix + ".3", prefix + ".3.index"):
        model = mobilenet_unet.from_keras(given, decoder_activation="relu")
        assert model.input_size == (96, 160)
        assert np.array_equal(model.predict(x), expected), given
    assert float(np.abs(expected - io_tensors["output"]).max()) <= 1e-4
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        mobilenet_unet.from_keras(str(tmp_path / "mobilenet_unet_2"))
