"""The seed's MobileNet-UNet, ported to Keras 3 with minimal changes.

The seed (``/work/shared/seed/000_b76d56d4801a1646.txt``) is the spec: ``_conv_block``,
``_depthwise_conv_block``, ``get_mobilenet_encoder``, ``_unet`` and ``mobilenet_unet`` below
follow it line by line. The only changes are:

* ``K.relu(x, max_value=6)`` becomes ``keras.activations.relu(x, max_value=6.0)`` (Keras 3 has no
  ``keras.backend.relu``).
* Parameters the seed hard-codes are parameters here: ``alpha`` (encoder width multiplier:
  ``filters = int(f * alpha)``; the decoder's 512/256/128/64 stay fixed, as in the seed),
  ``l1_skip_conn``, ``decoder_activation``, ``n_classes`` and the input size.
* ``decoder_activation='none'`` is the seed (Conv2D then BatchNormalization);
  ``'relu'`` is the keras_segmentation package's current decoder
  (``Conv2D(..., activation='relu')`` then BatchNormalization).
* The decoder layers, unnamed in the seed (Keras would auto-name them ``conv2d_N`` ...), get
  stable names. The Rust loader uses them as tensor-name prefixes:
  ``dec1_pad, dec1_conv, dec1_bn, dec1_up, dec1_concat, dec2_*, dec3_*, [dec3_concat],
  dec4_pad, dec4_conv, dec4_bn, logits_conv, logits_reshape, softmax``.
* ``build_f5`` (default True, as the seed) builds blocks 12-13; they are not on the output path
  and ``keras.Model(img_input, o)`` prunes them either way.
"""

import keras
from keras.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Input,
    Reshape,
    Softmax,
    UpSampling2D,
    ZeroPadding2D,
    concatenate,
)

IMAGE_ORDERING = "channels_last"
MERGE_AXIS = -1
DECODER_ACTIVATIONS = ("none", "relu")


def relu6(x):
    return keras.activations.relu(x, max_value=6.0)


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    channel_axis = 1 if IMAGE_ORDERING == "channels_first" else -1
    filters = int(filters * alpha)
    x = ZeroPadding2D(padding=(1, 1), name="conv1_pad", data_format=IMAGE_ORDERING)(inputs)
    x = Conv2D(
        filters,
        kernel,
        data_format=IMAGE_ORDERING,
        padding="valid",
        use_bias=False,
        strides=strides,
        name="conv1",
    )(x)
    x = BatchNormalization(axis=channel_axis, name="conv1_bn")(x)
    return Activation(relu6, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier=1, strides=(1, 1), block_id=1):
    channel_axis = 1 if IMAGE_ORDERING == "channels_first" else -1
    pointwise_conv_filters = int(pointwise_conv_filters * alpha)

    x = ZeroPadding2D((1, 1), data_format=IMAGE_ORDERING, name="conv_pad_%d" % block_id)(inputs)
    x = DepthwiseConv2D(
        (3, 3),
        data_format=IMAGE_ORDERING,
        padding="valid",
        depth_multiplier=depth_multiplier,
        strides=strides,
        use_bias=False,
        name="conv_dw_%d" % block_id,
    )(x)
    x = BatchNormalization(axis=channel_axis, name="conv_dw_%d_bn" % block_id)(x)
    x = Activation(relu6, name="conv_dw_%d_relu" % block_id)(x)

    x = Conv2D(
        pointwise_conv_filters,
        (1, 1),
        data_format=IMAGE_ORDERING,
        padding="same",
        use_bias=False,
        strides=(1, 1),
        name="conv_pw_%d" % block_id,
    )(x)
    x = BatchNormalization(axis=channel_axis, name="conv_pw_%d_bn" % block_id)(x)
    return Activation(relu6, name="conv_pw_%d_relu" % block_id)(x)


def get_mobilenet_encoder(input_height=224, input_width=224, pretrained=None, alpha=1.0, build_f5=True):
    """The seed's encoder. ``pretrained`` is accepted for signature compatibility and ignored."""
    depth_multiplier = 1

    img_input = Input(shape=(input_height, input_width, 3))

    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    x = _depthwise_conv_block(x, 64, alpha, depth_multiplier, block_id=1)
    f1 = x

    x = _depthwise_conv_block(x, 128, alpha, depth_multiplier, strides=(2, 2), block_id=2)
    x = _depthwise_conv_block(x, 128, alpha, depth_multiplier, block_id=3)
    f2 = x

    x = _depthwise_conv_block(x, 256, alpha, depth_multiplier, strides=(2, 2), block_id=4)
    x = _depthwise_conv_block(x, 256, alpha, depth_multiplier, block_id=5)
    f3 = x

    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, strides=(2, 2), block_id=6)
    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, block_id=7)
    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, block_id=8)
    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, block_id=9)
    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, block_id=10)
    x = _depthwise_conv_block(x, 512, alpha, depth_multiplier, block_id=11)
    f4 = x

    f5 = None
    if build_f5:
        x = _depthwise_conv_block(x, 1024, alpha, depth_multiplier, strides=(2, 2), block_id=12)
        x = _depthwise_conv_block(x, 1024, alpha, depth_multiplier, block_id=13)
        f5 = x

    return img_input, [f1, f2, f3, f4, f5]


def _dec_conv(filters, decoder_activation, name):
    """A decoder 3x3 'valid' conv with bias; 'relu' applies ReLU inside the Conv2D."""
    activation = None if decoder_activation == "none" else "relu"
    return Conv2D(
        filters, (3, 3), padding="valid", data_format=IMAGE_ORDERING, activation=activation, name=name
    )


def _unet(
    n_classes,
    encoder,
    l1_skip_conn=False,
    input_height=416,
    input_width=608,
    alpha=1.0,
    decoder_activation="none",
    build_f5=True,
    name_decoder=True,
):
    if decoder_activation not in DECODER_ACTIVATIONS:
        raise ValueError("decoder_activation must be one of %s" % (DECODER_ACTIVATIONS,))
    # name_decoder=False leaves the decoder unnamed, exactly as the seed (Keras auto-names it).
    nm = (lambda name: name) if name_decoder else (lambda name: None)
    img_input, levels = encoder(
        input_height=input_height, input_width=input_width, alpha=alpha, build_f5=build_f5
    )
    [f1, f2, f3, f4, f5] = levels

    o = f4
    o = ZeroPadding2D((1, 1), data_format=IMAGE_ORDERING, name=nm("dec1_pad"))(o)
    o = _dec_conv(512, decoder_activation, nm("dec1_conv"))(o)
    o = BatchNormalization(name=nm("dec1_bn"))(o)

    o = UpSampling2D((2, 2), data_format=IMAGE_ORDERING, name=nm("dec1_up"))(o)
    o = concatenate([o, f3], axis=MERGE_AXIS, name=nm("dec1_concat"))
    o = ZeroPadding2D((1, 1), data_format=IMAGE_ORDERING, name=nm("dec2_pad"))(o)
    o = _dec_conv(256, decoder_activation, nm("dec2_conv"))(o)
    o = BatchNormalization(name=nm("dec2_bn"))(o)

    o = UpSampling2D((2, 2), data_format=IMAGE_ORDERING, name=nm("dec2_up"))(o)
    o = concatenate([o, f2], axis=MERGE_AXIS, name=nm("dec2_concat"))
    o = ZeroPadding2D((1, 1), data_format=IMAGE_ORDERING, name=nm("dec3_pad"))(o)
    o = _dec_conv(128, decoder_activation, nm("dec3_conv"))(o)
    o = BatchNormalization(name=nm("dec3_bn"))(o)

    o = UpSampling2D((2, 2), data_format=IMAGE_ORDERING, name=nm("dec3_up"))(o)
    if l1_skip_conn:
        o = concatenate([o, f1], axis=MERGE_AXIS, name=nm("dec3_concat"))
    o = ZeroPadding2D((1, 1), data_format=IMAGE_ORDERING, name=nm("dec4_pad"))(o)
    o = _dec_conv(64, decoder_activation, nm("dec4_conv"))(o)
    o = BatchNormalization(name=nm("dec4_bn"))(o)
    o = Conv2D(n_classes, (3, 3), padding="same", data_format=IMAGE_ORDERING, name=nm("logits_conv"))(o)

    o = Reshape((int(input_height / 2) * int(input_width / 2), -1), name=nm("logits_reshape"))(o)
    o = Softmax(name=nm("softmax"))(o)
    model = keras.Model(img_input, o)
    return model


def mobilenet_unet(
    n_classes,
    input_height=224,
    input_width=224,
    encoder_level=3,
    alpha=1.0,
    l1_skip_conn=False,
    decoder_activation="none",
    build_f5=True,
    name_decoder=True,
):
    """The seed's ``mobilenet_unet`` with the hard-coded knobs exposed (defaults = the seed)."""
    model = _unet(
        n_classes,
        get_mobilenet_encoder,
        l1_skip_conn=l1_skip_conn,
        input_height=input_height,
        input_width=input_width,
        alpha=alpha,
        decoder_activation=decoder_activation,
        build_f5=build_f5,
        name_decoder=name_decoder,
    )
    model.model_name = "mobilenet_unet"
    return model


# Tap points for intermediate outputs (layer whose output is the tap), used by keras_reference.py.
TAPS = {
    "f1": "conv_pw_1_relu",
    "f2": "conv_pw_3_relu",
    "f3": "conv_pw_5_relu",
    "f4": "conv_pw_11_relu",
    "dec1": "dec1_bn",
    "dec2": "dec2_bn",
    "dec3": "dec3_bn",
    "dec4": "dec4_bn",
    "logits": "logits_conv",
}
