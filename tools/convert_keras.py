#!/usr/bin/env python3
"""Convert a Keras MobileNet-UNet (the seed's architecture) to the engine's safetensors file.

    convert_keras.py MODEL_FILE OUT.safetensors [--decoder-activation none|relu]
        [--preprocessing sub_mean|divide|sub_and_divide] [--classes a,b,c]
        [--colors "r,g,b;r,g,b;..."] [--alpha A] [--input-size HxW] [--dtype f32|f16]

The converter lives in the Python package, as ``mobilenet_unet.keras_convert``
(crates/python/python/mobilenet_unet/keras_convert.py: the formats it reads and what it writes are
documented there); this script runs it from a checkout, without installing the package, and
needs h5py and numpy only.
"""

import sys

from package_source import load

keras_convert = load("keras_convert")
ConvertError = keras_convert.ConvertError
convert = keras_convert.convert
main = keras_convert.main


def __getattr__(name):
    """Everything else the converter defines (its tests reach for helpers such as
    ``expected_shapes``)."""
    return getattr(keras_convert, name)

if __name__ == "__main__":
    sys.exit(main())
