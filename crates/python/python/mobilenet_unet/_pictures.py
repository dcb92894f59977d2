"""The pictures keras-segmentation's ``predict`` writes, drawn with NumPy.

keras-segmentation 0.3.0 works in OpenCV's BGR order: its ``class_colors`` are (B, G, R) as
``cv2.imwrite`` reads them, its overlay averages the BGR input with the coloured map, and its
legend is a 125-pixel-wide white panel (a 25-pixel row per class: the name, then a colour
square at x = 100..124) put left of the picture. This module follows the same layout and the
same colours, in BGR, and the caller flips to RGB only to encode the file.

Two differences, both in how pictures are scaled, never in the class maps returned: scaling is
nearest-neighbour (keras-segmentation's ``cv2.resize`` of the coloured map is bilinear, which
blends colours along class edges), and legend text uses the 5x7 bitmap font of the command line
rather than OpenCV's Hershey font.
"""

import random

import numpy as np

from . import _native

#: keras-segmentation's default ``class_colors``: ``random.seed(0)`` then 5000 triples of
#: ``random.randint(0, 255)``, in OpenCV's (B, G, R) order.
_rng = random.Random(0)
KERAS_SEGMENTATION_COLORS = [(_rng.randint(0, 255), _rng.randint(0, 255), _rng.randint(0, 255))
                             for _ in range(5000)]
del _rng

LEGEND_WIDTH = 125
LEGEND_ROW = 25


def resize_nearest(a, height, width):
    """Nearest-neighbour resize of the first two axes as ``cv2.INTER_NEAREST`` picks its source
    pixel: ``src = min(floor(dst * (1 / (out / in))), in - 1)``, in double precision."""
    ih, iw = a.shape[:2]
    if (ih, iw) == (height, width):
        return a
    ys = np.minimum(np.floor(np.arange(height) * (1.0 / (height / ih))).astype(np.int64), ih - 1)
    xs = np.minimum(np.floor(np.arange(width) * (1.0 / (width / iw))).astype(np.int64), iw - 1)
    return a[ys][:, xs]


def colour_lut(colors, n_classes):
    """The first ``n_classes`` colours as a ``uint8 [n_classes, 3]`` table."""
    try:
        lut = np.asarray([tuple(colors[c]) for c in range(n_classes)], dtype=np.int64)
    except IndexError:
        raise ValueError("colors: %d colours for %d classes" % (len(colors), n_classes)) from None
    if lut.shape != (n_classes, 3) or lut.min() < 0 or lut.max() > 255:
        raise ValueError("colors: expected %d (B, G, R) triples of 0..255" % n_classes)
    return lut.astype(np.uint8)


def legend(class_names, lut):
    """keras-segmentation's ``get_legends``: a white panel, a row per class (BGR)."""
    n = len(class_names)
    panel = np.full((n * LEGEND_ROW + LEGEND_ROW, LEGEND_WIDTH, 3), 255, dtype=np.uint8)
    for i, name in enumerate(class_names):
        top = i * LEGEND_ROW
        # The 5x7 glyphs sit where OpenCV's 0.5-scale text would, baseline ~ top + 17; then the
        # square (cv2.rectangle's corners are inclusive: rows top..top+25, clipped at x = 124).
        panel = _native.draw_text(panel, 5, top + 10, str(name), (0, 0, 0), 1)
        panel[top:top + LEGEND_ROW + 1, 100:LEGEND_WIDTH] = lut[i]
    return panel


def concat_legend(picture, panel):
    """keras-segmentation's ``concat_lenends``: the legend left of the picture."""
    h = max(picture.shape[0], panel.shape[0])
    out = np.full((h, picture.shape[1] + panel.shape[1], 3), panel[0, 0, 0], dtype=np.uint8)
    out[:panel.shape[0], :panel.shape[1]] = panel
    out[:picture.shape[0], panel.shape[1]:] = picture
    return out


def visualize(class_map, bgr, lut, overlay_img=False, class_names=None, show_legends=False,
              prediction_width=None, prediction_height=None):
    """keras-segmentation's ``visualize_segmentation`` for a class map already at the image's
    size: the BGR ``uint8`` picture its ``predict`` writes."""
    seg = lut[class_map]
    if prediction_width is not None and prediction_height is not None:
        seg = resize_nearest(seg, prediction_height, prediction_width)
        bgr = resize_nearest(bgr, prediction_height, prediction_width)
    if overlay_img:
        seg = (bgr / 2 + seg / 2).astype(np.uint8)
    if show_legends:
        seg = concat_legend(seg, legend(class_names, lut))
    return seg
