"""Single-layer fixtures and parameter counts from real Keras layers (used by keras_reference.py).

Every single-layer case runs one Keras layer (inference mode) on seeded random inputs and records
inputs, weights and output as float32 tensors named ``<case>/<role>``:

* ``<case>/x`` (and ``<case>/x2`` for Concatenate): the inputs, NHWC (Softmax: [N, L, K]);
* ``<case>/kernel``, ``<case>/bias``: Keras shapes (Conv2D HWIO, DepthwiseConv2D [kh, kw, C, 1]);
* ``<case>/gamma``, ``beta``, ``moving_mean``, ``moving_variance``: BatchNormalization;
* ``<case>/y``: Keras's output.
"""

import numpy as np

import keras

import mobilenet_unet_keras as mu


def _conv(name, hw, cin, cout, k, s, padding, bias, activation=None, n=1):
    return dict(name=name, layer="Conv2D", input_shape=[n, hw[0], hw[1], cin],
                config=dict(filters=cout, kernel_size=[k, k], strides=[s, s], padding=padding,
                            use_bias=bias, activation=activation or "linear"))


def _dw(name, hw, c, s, padding, n=1):
    return dict(name=name, layer="DepthwiseConv2D", input_shape=[n, hw[0], hw[1], c],
                config=dict(kernel_size=[3, 3], strides=[s, s], padding=padding, use_bias=False,
                            depth_multiplier=1))


CASES = [
    _conv("conv3x3_s1_valid_bias_9x7_c5_o13", (9, 7), 5, 13, 3, 1, "valid", True),
    _conv("conv3x3_s1_valid_nobias_9x7_c13_o5", (9, 7), 13, 5, 3, 1, "valid", False),
    _conv("conv3x3_s2_valid_nobias_9x7_c3_o13", (9, 7), 3, 13, 3, 2, "valid", False),
    _conv("conv3x3_s2_valid_bias_10x8_c5_o5_b2", (10, 8), 5, 5, 3, 2, "valid", True, n=2),
    _conv("conv3x3_s1_same_bias_9x7_c13_o5", (9, 7), 13, 5, 3, 1, "same", True),
    _conv("conv3x3_s2_same_nobias_9x7_c5_o13", (9, 7), 5, 13, 3, 2, "same", False),
    _conv("conv3x3_s2_same_bias_10x8_c5_o13", (10, 8), 5, 13, 3, 2, "same", True),
    _conv("conv1x1_s1_same_nobias_9x7_c13_o5", (9, 7), 13, 5, 1, 1, "same", False),
    _conv("conv1x1_s1_same_nobias_6x5_c5_o13_b2", (6, 5), 5, 13, 1, 1, "same", False, n=2),
    _conv("conv3x3_s1_valid_bias_relu_9x7_c5_o13", (9, 7), 5, 13, 3, 1, "valid", True, "relu"),
    _dw("dw3x3_s1_valid_9x7_c5", (9, 7), 5, 1, "valid"),
    _dw("dw3x3_s2_valid_9x7_c8", (9, 7), 8, 2, "valid"),
    _dw("dw3x3_s2_valid_10x8_c13_b2", (10, 8), 13, 2, "valid", n=2),
    _dw("dw3x3_s1_valid_11x11_c13", (11, 11), 13, 1, "valid"),
    _dw("dw3x3_s1_same_9x7_c8", (9, 7), 8, 1, "same"),
    dict(name="bn_eps1e-3_9x7_c13", layer="BatchNormalization", input_shape=[2, 9, 7, 13],
         config=dict(epsilon=1e-3, axis=-1)),
    dict(name="bn_eps1e-3_4x4_c5", layer="BatchNormalization", input_shape=[1, 4, 4, 5],
         config=dict(epsilon=1e-3, axis=-1)),
    dict(name="zeropad_1_1_9x7_c5", layer="ZeroPadding2D", input_shape=[1, 9, 7, 5],
         config=dict(padding=[[1, 1], [1, 1]])),
    dict(name="zeropad_12_03_5x4_c3_b2", layer="ZeroPadding2D", input_shape=[2, 5, 4, 3],
         config=dict(padding=[[1, 2], [0, 3]])),
    dict(name="upsample2_5x3_c5_b2", layer="UpSampling2D", input_shape=[2, 5, 3, 5],
         config=dict(size=[2, 2], interpolation="nearest")),
    dict(name="upsample2_4x4_c13", layer="UpSampling2D", input_shape=[1, 4, 4, 13],
         config=dict(size=[2, 2], interpolation="nearest")),
    dict(name="concat_5x3_c5_c13_b2", layer="Concatenate", input_shape=[2, 5, 3, 5],
         input2_shape=[2, 5, 3, 13], config=dict(axis=-1)),
    dict(name="relu6_9x7_c5", layer="ReLU6", input_shape=[1, 9, 7, 5],
         config=dict(max_value=6.0, keras="Activation(relu(x, max_value=6.0))")),
    dict(name="softmax_2_b2", layer="Softmax", input_shape=[2, 24, 2], config=dict(axis=-1)),
    dict(name="softmax_21", layer="Softmax", input_shape=[1, 35, 21], config=dict(axis=-1)),
]


def _make_layer(case):
    c = case["config"]
    kind = case["layer"]
    if kind == "Conv2D":
        return keras.layers.Conv2D(c["filters"], c["kernel_size"], strides=c["strides"], padding=c["padding"],
                                   use_bias=c["use_bias"], activation=c["activation"])
    if kind == "DepthwiseConv2D":
        return keras.layers.DepthwiseConv2D(c["kernel_size"], strides=c["strides"], padding=c["padding"],
                                            use_bias=False, depth_multiplier=1)
    if kind == "BatchNormalization":
        return keras.layers.BatchNormalization(epsilon=c["epsilon"], axis=c["axis"])
    if kind == "ZeroPadding2D":
        return keras.layers.ZeroPadding2D(tuple(tuple(p) for p in c["padding"]))
    if kind == "UpSampling2D":
        return keras.layers.UpSampling2D(tuple(c["size"]), interpolation=c["interpolation"])
    if kind == "Concatenate":
        return keras.layers.Concatenate(axis=c["axis"])
    if kind == "ReLU6":
        return keras.layers.Activation(mu.relu6)
    if kind == "Softmax":
        return keras.layers.Softmax(axis=c["axis"])
    raise ValueError(kind)


def _input(rng, case, shape):
    if case["layer"] == "ReLU6":
        x = rng.uniform(-3.0, 9.0, shape)  # both sides of 0 and of 6
        x.flat[:4] = [0.0, 6.0, -0.0, 5.999]
        return x
    if case["layer"] == "Softmax":
        return rng.normal(0.0, 3.0, shape)
    return rng.uniform(-2.0, 2.0, shape)


def layer_fixtures(seed):
    """Returns (tensors, cases) for layers.safetensors / layers.json."""
    tensors, cases = {}, []
    for i, case in enumerate(CASES):
        rng = np.random.default_rng([seed, 7, i])
        name = case["name"]
        layer = _make_layer(case)
        x = _input(rng, case, case["input_shape"]).astype(np.float32)
        inputs = {"%s/x" % name: x}
        if case["layer"] == "Concatenate":
            inputs["%s/x2" % name] = rng.uniform(-2.0, 2.0, case["input2_shape"]).astype(np.float32)
            layer.build([list(v.shape) for v in inputs.values()])
        else:
            layer.build(x.shape)
        weights = {}
        if layer.weights:
            vals = []
            for var in layer.weights:
                shape = tuple(var.shape)
                if var.name == "kernel":
                    fan_in = int(np.prod(shape[:2])) * (1 if case["layer"] == "DepthwiseConv2D" else shape[2])
                    v = rng.standard_normal(shape) / np.sqrt(fan_in)
                elif var.name in ("bias", "beta", "moving_mean"):
                    v = rng.uniform(-0.5, 0.5, shape)
                elif var.name == "gamma":
                    v = rng.uniform(0.5, 1.5, shape)
                elif var.name == "moving_variance":
                    v = rng.uniform(0.5, 2.0, shape)
                else:
                    raise ValueError(var.name)
                vals.append(v.astype(np.float32))
                weights[var.name] = "%s/%s" % (name, var.name)
            layer.set_weights(vals)
            for var, v in zip(layer.weights, vals):
                tensors["%s/%s" % (name, var.name)] = v
        args = list(inputs.values())
        y = layer(args if len(args) > 1 else args[0], training=False)
        y = np.asarray(y, np.float32)
        tensors.update(inputs)
        tensors["%s/y" % name] = y
        cases.append(dict(name=name, layer=case["layer"], config=case["config"], inputs=list(inputs),
                          input_shapes=[list(v.shape) for v in inputs.values()], weights=weights,
                          output="%s/y" % name, output_shape=list(y.shape)))
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}, cases


# name: (alpha, n_classes, height, width, l1_skip_conn, decoder_activation)
PARAM_CONFIGS = {
    "seed_a100_k2_224x224": (1.0, 2, 224, 224, False, "none"),
    "seed_a100_k2_416x608": (1.0, 2, 416, 608, False, "none"),
    "a100_k21_320x320_relu_l1": (1.0, 21, 320, 320, True, "relu"),
    "a075_k21_224x224_relu_l1": (0.75, 21, 224, 224, True, "relu"),
    "a050_k5_64x96": (0.5, 5, 64, 96, False, "none"),
    "a035_k12_128x128_relu": (0.35, 12, 128, 128, False, "relu"),
    "a025_k3_64x64": (0.25, 3, 64, 64, False, "none"),
    "a025_k4_96x160_relu_l1": (0.25, 4, 96, 160, True, "relu"),
}


def _seed_example():
    """The seed's 16 -> 32 channel example, counted by real Keras layers."""
    std = keras.layers.Conv2D(32, (3, 3), use_bias=False)
    std.build((None, 8, 8, 16))
    dw = keras.layers.DepthwiseConv2D((3, 3), use_bias=False)
    dw.build((None, 8, 8, 16))
    pw = keras.layers.Conv2D(32, (1, 1), use_bias=False)
    pw.build((None, 6, 6, 16))
    return {
        "in_channels": 16,
        "out_channels": 32,
        "standard_conv3x3_params": std.count_params(),
        "depthwise3x3_params": dw.count_params(),
        "pointwise1x1_params": pw.count_params(),
        "separable_params": dw.count_params() + pw.count_params(),
    }


def param_counts():
    configs = {}
    for name, (alpha, k, h, w, l1, act) in PARAM_CONFIGS.items():
        model = mu.mobilenet_unet(k, h, w, alpha=alpha, l1_skip_conn=l1, decoder_activation=act)
        trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
        non_trainable = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
        layers = []
        for layer in model.layers:
            n = layer.count_params() if layer.weights else 0
            if n:
                layers.append(dict(
                    name=layer.name, cls=type(layer).__name__, params=n,
                    trainable=sum(int(np.prod(v.shape)) for v in layer.trainable_weights),
                    non_trainable=sum(int(np.prod(v.shape)) for v in layer.non_trainable_weights),
                    output_shape=list(layer.output.shape[1:])))
        configs[name] = dict(alpha=alpha, n_classes=k, height=h, width=w, l1_skip_conn=l1,
                             decoder_activation=act, total=model.count_params(), trainable=trainable,
                             non_trainable=non_trainable, layers=layers)
        assert trainable + non_trainable == model.count_params() == sum(lyr["params"] for lyr in layers)
    return {"keras_version": keras.__version__, "seed_example": _seed_example(), "configs": configs}
