#!/usr/bin/env python3
"""Fixtures for the Rust cv2.resize reproduction (crates/model/src/resize.rs), written by OpenCV.

    .venv-kseg/bin/python tools/cv2_resize_fixture.py     # -> crates/model/tests/fixtures/cv2_resize.json

Random 3-channel uint8 images (seeded, so the file regenerates byte for byte) resized with
``cv2.resize(src, (w, h))`` (INTER_LINEAR, what keras-segmentation's ``get_image_array`` does)
and, for class maps, with ``interpolation=cv2.INTER_NEAREST``: up- and down-scaling, odd ratios,
exact 2x both ways (OpenCV takes its INTER_AREA path for the 2x reduction), 1-pixel-wide and
1-pixel-high images. Each case stores hex strings of the source and the result.
"""

import json
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "crates", "model", "tests", "fixtures", "cv2_resize.json")

# (src_h, src_w, dst_h, dst_w)
CASES = [
    (5, 7, 17, 23), (17, 23, 5, 7), (47, 61, 11, 13), (11, 13, 47, 61),  # up, down, odd ratios
    (20, 30, 10, 15), (10, 15, 20, 30),  # exact 2x down (INTER_AREA path) and up
    (21, 30, 10, 15), (40, 40, 13, 13), (48, 32, 16, 16), (30, 45, 10, 15),  # 2x in one axis, 3x
    (1, 1, 4, 6), (1, 9, 5, 4), (9, 1, 4, 5), (1, 17, 1, 5), (17, 1, 5, 1), (6, 8, 1, 1),
    (3, 50, 7, 11), (50, 3, 11, 7), (40, 36, 34, 34), (30, 20, 56, 56), (45, 40, 28, 28),
    (33, 64, 32, 32), (31, 37, 29, 41),
]


def main():
    rng = np.random.default_rng(2028)
    cases = []
    for sh, sw, dh, dw in CASES:
        # Smooth plus noise, so both gentle gradients and full-range jumps are exercised.
        base = np.linspace(0, 255, sh * sw * 3).reshape(sh, sw, 3)
        src = np.clip(base + rng.normal(0, 60, base.shape), 0, 255).astype(np.uint8)
        src[rng.random((sh, sw)) < 0.1] = rng.integers(0, 256, 3, dtype=np.uint8)
        lin = cv2.resize(src, (dw, dh))
        near = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_NEAREST)
        cases.append({"src_h": sh, "src_w": sw, "dst_h": dh, "dst_w": dw, "src": src.tobytes().hex(),
                      "linear": lin.tobytes().hex(), "nearest": near.tobytes().hex()})
    with open(OUT, "w") as fh:
        json.dump({"opencv": cv2.__version__, "cases": cases}, fh, indent=0)
        fh.write("\n")
    print("wrote %s: %d cases (OpenCV %s)" % (OUT, len(cases), cv2.__version__))


if __name__ == "__main__":
    main()
