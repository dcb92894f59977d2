"""The TensorFlow checkpoint (tensor bundle) reader, for the tools.

It lives in the Python package, as ``mobilenet_unet.tf_checkpoint`` (the format is described
there), so that ``mobilenet_unet.from_keras`` reads keras-segmentation's checkpoints too; this
re-exports it for the tools and their tests.
"""

import sys

from package_source import load

sys.modules[__name__] = load("tf_checkpoint")
