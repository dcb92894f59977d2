"""MobileNet-UNet semantic segmentation on this repository's Rust engine.

    import mobilenet_unet
    model = mobilenet_unet.Model.default()            # or Model.load("w.safetensors"),
                                                      # or mobilenet_unet.from_keras("m.h5")
    probs = model.predict(x)                          # float32 [N, H, W, 3] -> [N, H/2*W/2, K]
    classes = model.segment("photo.png")              # uint16 [H, W]
    pr = model.predict_segmentation(inp="photo.png", out_fname="out.png")   # keras-segmentation

:class:`Model` answers Keras's ``predict`` and keras-segmentation 0.3.0's
``predict_segmentation``, ``predict_multiple`` and ``evaluate_segmentation`` with their
arguments and return values. One model serves any number of threads; the GIL is released while
the network runs.
"""

import os

from ._model import KERAS_SEGMENTATION_COLORS, Model
from ._native import __version__, read_image, write_image

__all__ = ["Model", "from_keras", "read_image", "write_image", "KERAS_SEGMENTATION_COLORS",
           "__version__"]


def from_keras(path, threads=None, precision="f32", decoder_activation=None,
               preprocessing="sub_mean", class_names=None, colors=None, alpha=None,
               input_size=None):
    """Loads a Keras MobileNet-UNet: a Keras 3 ``.keras`` or ``.weights.h5`` file, a legacy
    tf.keras ``.h5`` as keras-segmentation's ``model.save`` / ``save_weights`` write, or the
    TensorFlow checkpoints its ``train(checkpoints_path=P)`` writes (``P`` for the latest
    epoch, ``P.N`` or ``P.N.index``; read with numpy alone).

    The weights are read with h5py (the ``keras`` extra: ``pip install 'mobilenet-unet[keras]'``),
    neither TensorFlow nor Keras is imported, and the conversion happens in memory (to write
    the ``.safetensors`` file instead, run ``python -m mobilenet_unet.keras_convert``).
    ``decoder_activation`` (``"none"`` or ``"relu"``) is for files without a saved config;
    ``preprocessing`` is keras-segmentation's ``imgNorm`` the model was trained with;
    ``class_names``, ``colors`` ((R, G, B) per class), ``alpha`` and ``input_size``
    (``(height, width)``) are stored as the converter's options of the same names.
    ``threads`` and ``precision`` as for :meth:`Model.load`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (the converter's one-line
    message) for a file that is not the seed's model.
    """
    try:
        from . import keras_convert
    except ImportError as e:
        raise ImportError("mobilenet_unet.from_keras needs h5py: pip install "
                          "'mobilenet-unet[keras]' (%s)" % e) from e
    path = os.fspath(path)
    if not os.path.exists(path) and keras_convert.tf_checkpoint.find_checkpoint(path) is None:
        raise FileNotFoundError("%s: no such file, nor a checkpoint %s.N.index" % (path, path))
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if any("," in c for c in class_names):
            raise ValueError("class_names: a name may not contain a comma")
        class_names = ",".join(class_names)
    if colors is not None:
        colors = ";".join("%d,%d,%d" % tuple(c) for c in colors)
    if input_size is not None:
        input_size = "%dx%d" % tuple(input_size)
    args = keras_convert.options(path, decoder_activation=decoder_activation,
                                 preprocessing=preprocessing, classes=class_names, colors=colors,
                                 alpha=alpha, input_size=input_size)
    *_, data = keras_convert.convert_to_bytes(args)
    return Model.from_bytes(data, name=path, threads=threads, precision=precision)
