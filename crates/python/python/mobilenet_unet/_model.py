"""``Model``: the engine's model, with Keras's and keras-segmentation's calling conventions."""

import glob
import os

import numpy as np

from . import _native, _pictures
from ._pictures import KERAS_SEGMENTATION_COLORS

_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")  # keras-segmentation's get_pairs_from_paths
_LABEL_EXTS = (".png", ".bmp")


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


class Model:
    """A MobileNet-UNet on the Rust engine: weights folded and packed once, then any number of
    calls, from any number of Python threads (the GIL is released while the network runs, and
    concurrent calls each get their own buffers).

    Make one with :meth:`load` (a ``.safetensors`` file), :meth:`default` (the shapes model
    built into the package) or :func:`mobilenet_unet.from_keras` (a Keras file).

    Besides Keras's ``predict`` it answers keras-segmentation 0.3.0's model methods,
    ``predict_segmentation``, ``predict_multiple`` and ``evaluate_segmentation``, with their
    arguments and return values, and its attributes ``n_classes``, ``input_height``,
    ``input_width``, ``output_height`` and ``output_width``.
    """

    def __init__(self, native):
        if not isinstance(native, _native.NativeModel):
            raise TypeError("use Model.load(path), Model.default() or mobilenet_unet.from_keras(path)")
        self._m = native

    # -- making one ------------------------------------------------------------------------

    @classmethod
    def load(cls, path, threads=None, precision="f32"):
        """Loads a ``.safetensors`` weights file written by ``tools/convert_keras.py``,
        :mod:`mobilenet_unet.keras_convert` or ``tools/train.py``.

        ``threads``: ``None`` runs on a pool shared by every model of the process, sized to
        the machine's cores; ``n`` gives this model a private pool of ``n`` threads.
        ``precision``: ``"f32"``. (``"bf16"`` and ``"int8"`` name the reduced-precision kernels;
        this build does not have them and raises ``ValueError`` for them.)

        Raises ``FileNotFoundError`` if there is no such file and ``ValueError`` if it is not a
        MobileNet-UNet weights file (the message names each tensor at fault).
        """
        return cls(_native.NativeModel.load(os.fspath(path), threads, precision))

    @classmethod
    def default(cls, threads=None, precision="f32"):
        """The repository's shapes model (circle, rectangle, triangle on a background),
        embedded in the package. ``threads`` and ``precision`` as for :meth:`load`."""
        return cls(_native.NativeModel.default(threads, precision))

    @classmethod
    def from_bytes(cls, data, name="<bytes>", threads=None, precision="f32"):
        """A model from the bytes of a ``.safetensors`` file (``name`` appears in errors)."""
        return cls(_native.NativeModel.from_bytes(bytes(data), name, threads, precision))

    # -- what it is ------------------------------------------------------------------------

    @property
    def n_classes(self):
        """Number of classes (the last axis of :meth:`predict`'s output)."""
        return self._m.n_classes

    @property
    def input_height(self):
        """The height images are resized to (the model's native input size)."""
        return self._m.input_height

    @property
    def input_width(self):
        """The width images are resized to."""
        return self._m.input_width

    @property
    def input_size(self):
        """``(input_height, input_width)``."""
        return (self._m.input_height, self._m.input_width)

    @property
    def output_height(self):
        """Height of the class map: half the input's, as in keras-segmentation."""
        return self._m.input_height // 2

    @property
    def output_width(self):
        """Width of the class map: half the input's."""
        return self._m.input_width // 2

    @property
    def class_names(self):
        """Class names from the weights' metadata (``class_0``, ... if it has none)."""
        return list(self._m.class_names)

    @property
    def class_colors(self):
        """(R, G, B) per class from the weights' metadata, or a fixed palette."""
        return list(self._m.class_colors)

    @property
    def preprocessing(self):
        """keras-segmentation's ``imgNorm`` for these weights: ``sub_mean``, ``divide`` or
        ``sub_and_divide``."""
        return self._m.preprocessing

    @property
    def resize(self):
        """How :meth:`segment` resizes an image to the input: ``cv2_linear`` (OpenCV's
        ``cv2.resize``, bit for bit, as keras-segmentation) or ``antialias``."""
        return self._m.resize

    @property
    def label_resize(self):
        """How the class map is scaled back to the image: ``cv2_nearest`` (``cv2.INTER_NEAREST``)
        or ``centre`` (pixel centres)."""
        return self._m.label_resize

    @property
    def alpha(self):
        """The encoder's width multiplier."""
        return self._m.alpha

    @property
    def source(self):
        """Where the weights came from."""
        return self._m.source

    def summary(self, print_fn=None):
        """Prints the image pipeline (resize, preprocessing, label resize), then every layer
        with its output shape and parameters, as Keras's ``summary`` (through ``print_fn``, one
        call per line, if given)."""
        for line in self._m.summary().rstrip("\n").split("\n"):
            (print_fn or print)(line)

    def __repr__(self):
        return "<mobilenet_unet.Model %s: %d classes, %dx%d, alpha %g>" % (
            self.source, self.n_classes, self.input_height, self.input_width, self.alpha)

    # -- running it ------------------------------------------------------------------------

    def predict(self, x):
        """Softmax probabilities, as Keras's ``model.predict``.

        ``x``: ``float32 [N, H, W, 3]``, already preprocessed (H and W multiples of 16; any
        strides: a C-contiguous array is read in place, others are copied once). Returns
        ``float32 [N, H/2 * W/2, n_classes]``.

        Raises ``TypeError`` for something other than a float32 array, ``ValueError`` for a
        wrong rank, channel count or size, an empty batch or a non-finite value.

        The GIL is released while the network runs, so other threads run meanwhile; as with
        any NumPy routine that releases it, they must not write to ``x`` until it returns.
        """
        return self._m.predict(x)

    def segment(self, image):
        """The class of every pixel of an image, at the image's size.

        ``image``: a path (PNG or JPEG) or an RGB ``uint8 [H, W, 3]`` array. It is resized to
        the model's input size, preprocessed, run, and the class map is scaled back to
        ``[H, W]``, each step as the weights' metadata says (:attr:`resize`,
        :attr:`preprocessing`, :attr:`label_resize`). Returns ``uint16 [H, W]``.
        """
        if _is_path(image):
            return self._m.segment_file(os.fspath(image))[2]
        return self._m.segment(image)[1]

    # -- keras-segmentation ----------------------------------------------------------------

    def _segment_bgr(self, inp):
        """(model-size map, image-size map, BGR image) for a path or a BGR array."""
        if _is_path(inp):
            rgb, model_map, class_map = self._m.segment_file(os.fspath(inp))
            return model_map, class_map, rgb[:, :, ::-1]
        if not isinstance(inp, np.ndarray):
            raise TypeError("inp: expected a file name or a BGR uint8 [H, W, 3] array (as "
                            "cv2.imread returns), got %s" % type(inp).__name__)
        if inp.ndim != 3:
            raise ValueError("inp: image should be h,w,3, got shape %s" % (inp.shape,))
        model_map, class_map = self._m.segment(inp[:, :, ::-1])
        return model_map, class_map, inp

    def predict_segmentation(self, inp=None, out_fname=None, overlay_img=False, class_names=None,
                             show_legends=False, colors=KERAS_SEGMENTATION_COLORS,
                             prediction_width=None, prediction_height=None):
        """keras-segmentation's ``model.predict_segmentation``.

        ``inp``: a file name, or a BGR ``uint8 [H, W, 3]`` array as ``cv2.imread`` returns
        (note: BGR here, as in keras-segmentation, where :meth:`segment` takes RGB).

        Returns the class map at the model's output size, ``int64 [output_height,
        output_width]``, as keras-segmentation does. With ``out_fname`` it also writes its
        picture (format by extension: ``.png``, ``.jpg``): the classes in ``colors`` ((B, G, R)
        triples, keras-segmentation's own palette by default) at the image's size, or at
        ``prediction_width`` x ``prediction_height`` if both are given; ``overlay_img``
        averages it with the image; ``show_legends`` puts a legend of ``class_names`` (the
        model's, if None) on its left. Pictures are scaled nearest-neighbour and labelled in a
        5x7 bitmap font, where keras-segmentation blends colours at class edges and uses
        OpenCV's font: the returned class map is what to compare.
        """
        if inp is None:
            raise ValueError("inp: give a file name or a BGR uint8 [H, W, 3] array")
        sizes = (prediction_width, prediction_height)
        if None not in sizes and not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                         and v > 0 for v in sizes):
            raise ValueError("prediction_width and prediction_height: expected positive integers, "
                             "got %r x %r" % sizes)
        model_map, class_map, bgr = self._segment_bgr(inp)
        if out_fname is not None:
            lut = _pictures.colour_lut(colors, self.n_classes)
            picture = _pictures.visualize(
                class_map, bgr, lut, overlay_img=overlay_img,
                class_names=self.class_names if class_names is None else list(class_names),
                show_legends=show_legends, prediction_width=prediction_width,
                prediction_height=prediction_height)
            _native.write_image(os.fspath(out_fname), np.ascontiguousarray(picture[:, :, ::-1]))
        return model_map.astype(np.int64)

    def predict_multiple(self, inps=None, inp_dir=None, out_dir=None, overlay_img=False,
                         class_names=None, show_legends=False, colors=KERAS_SEGMENTATION_COLORS,
                         prediction_width=None, prediction_height=None):
        """keras-segmentation's ``model.predict_multiple``: :meth:`predict_segmentation` on
        every image of ``inps`` (a list of file names or BGR arrays) or of ``inp_dir``
        (its ``*.jpg``, ``*.png``, ``*.jpeg``, sorted). With ``out_dir``, each picture is
        written there under the input's file name (``<i>.jpg`` for arrays). Returns the list of
        class maps."""
        if inps is None and inp_dir is not None:
            inps = sorted(glob.glob(os.path.join(inp_dir, "*.jpg"))
                          + glob.glob(os.path.join(inp_dir, "*.png"))
                          + glob.glob(os.path.join(inp_dir, "*.jpeg")))
        if not isinstance(inps, (list, tuple)):
            raise TypeError("inps: expected a list of file names or arrays (or give inp_dir)")
        out = []
        for i, inp in enumerate(inps):
            out_fname = None
            if out_dir is not None:
                name = os.path.basename(os.fspath(inp)) if _is_path(inp) else "%d.jpg" % i
                out_fname = os.path.join(out_dir, name)
            out.append(self.predict_segmentation(
                inp, out_fname, overlay_img=overlay_img, class_names=class_names,
                show_legends=show_legends, colors=colors, prediction_width=prediction_width,
                prediction_height=prediction_height))
        return out

    def evaluate_segmentation(self, inp_images=None, annotations=None, inp_images_dir=None,
                              annotations_dir=None):
        """keras-segmentation's ``model.evaluate_segmentation``: IoU at the model's output size.

        Give lists ``inp_images`` and ``annotations`` (file names or arrays), or the folders
        ``inp_images_dir`` and ``annotations_dir`` (images ``.jpg .jpeg .png .bmp`` paired with
        labels ``.png .bmp`` of the same stem). A label's class is its first channel in
        OpenCV's order (blue; the grey value of a grey PNG), scaled to the output size as
        ``cv2.INTER_NEAREST`` does. Returns ``{"frequency_weighted_IU", "mean_IU",
        "class_wise_IU"}`` computed as keras-segmentation does. Unlike keras-segmentation,
        a label value outside ``0 .. n_classes - 1`` is an error, not silently class 0.
        """
        if inp_images is None:
            if inp_images_dir is None or annotations_dir is None:
                raise ValueError("give inp_images and annotations, or inp_images_dir and "
                                 "annotations_dir")
            pairs = _pairs_from_paths(inp_images_dir, annotations_dir)
            inp_images = [p[0] for p in pairs]
            annotations = [p[1] for p in pairs]
        if not isinstance(inp_images, (list, tuple)) or not isinstance(annotations, (list, tuple)):
            raise TypeError("inp_images and annotations: expected lists")
        if len(inp_images) != len(annotations):
            raise ValueError("%d images but %d annotations" % (len(inp_images), len(annotations)))
        if not inp_images:
            raise ValueError("inp_images: no images to evaluate (the IoU of nothing is 0 / 0)")
        k = self.n_classes
        confusion = np.zeros((k, k), dtype=np.int64)  # [truth, predicted]
        for inp, ann in zip(inp_images, annotations):
            pr = self.predict_segmentation(inp)
            gt = _annotation(ann, pr.shape, k)
            confusion += np.bincount(gt.ravel() * k + pr.ravel(), minlength=k * k).reshape(k, k)
        return _iou_scores(confusion)


def _annotation(ann, shape, n_classes):
    """A label's class map at ``shape``, as keras-segmentation's get_segmentation_array."""
    if _is_path(ann):
        label = _native.read_image(os.fspath(ann))[:, :, 2]  # RGB -> OpenCV's channel 0, blue
    elif isinstance(ann, np.ndarray) and ann.ndim in (2, 3):
        label = ann if ann.ndim == 2 else ann[:, :, 0]
    else:
        raise TypeError("annotation: expected a file name or a [H, W] or [H, W, 3] array")
    label = _pictures.resize_nearest(np.asarray(label), shape[0], shape[1]).astype(np.int64)
    if label.size and (label.min() < 0 or label.max() >= n_classes):
        where = os.fspath(ann) if _is_path(ann) else "annotation array"
        raise ValueError("%s: holds class %d but the model has %d classes"
                         % (where, label.max() if label.max() >= n_classes else label.min(), n_classes))
    return label


def _iou_scores(confusion):
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    n_pixels = confusion.sum(axis=1).astype(np.float64)
    cl_wise_score = tp / (tp + fp + fn + 0.000000000001)
    n_pixels_norm = n_pixels / np.sum(n_pixels)
    return {
        "frequency_weighted_IU": np.sum(cl_wise_score * n_pixels_norm),
        "mean_IU": np.mean(cl_wise_score),
        "class_wise_IU": cl_wise_score,
    }


def _pairs_from_paths(images_dir, labels_dir):
    """(image, label) paths matched by file stem, as keras-segmentation's get_pairs_from_paths
    (sorted here, so the order does not depend on the file system)."""
    def listing(folder, exts):
        if not os.path.isdir(folder):
            raise FileNotFoundError("%s: no such folder" % folder)
        return [(os.path.splitext(e)[0], os.path.join(folder, e)) for e in sorted(os.listdir(folder))
                if os.path.splitext(e)[1] in exts and os.path.isfile(os.path.join(folder, e))]

    images = listing(images_dir, _IMAGE_EXTS)
    labels = {}
    for stem, path in listing(labels_dir, _LABEL_EXTS):
        if stem in labels:
            raise ValueError("%s and %s: two segmentations for one image" % (labels[stem], path))
        labels[stem] = path
    missing = [p for s, p in images if s not in labels]
    if missing:
        raise ValueError("no segmentation found in %s for %s" % (labels_dir, missing[0]))
    if not images:
        raise ValueError("%s holds no images" % images_dir)
    return [(p, labels[s]) for s, p in images]
