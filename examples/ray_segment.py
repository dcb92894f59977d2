#!/usr/bin/env python3
"""Segment a folder of images with Ray Data, one mobilenet_unet.Model per worker.

    pip install ./crates/python 'ray[data]==2.60.0' pillow
    python examples/ray_segment.py IMAGES_DIR MASKS_DIR [--workers 2] [--weights W.safetensors]
        [--address auto] [--single-process]

Ray Data reads the images (``ray.data.read_images``), hands them in batches to a pool of
``--workers`` actors (``map_batches`` with a class: each actor loads the model once, in its
constructor, and keeps it for every batch it is given), and each actor writes one mask per
image: ``MASKS_DIR/<image stem>.png``, an 8-bit grey PNG whose value is the class of the
pixel, at the image's size (what ``Model.segment`` returns). The masks equal a single
process's ``Model.segment`` bit for bit (tested in crates/python/tests/test_ray.py on PNGs;
Ray decodes with Pillow and the single process with the package's decoder, and two JPEG
decoders need not agree on every pixel).

Each actor reserves ``--threads-per-worker`` CPUs (default 1) and gives its model a private
pool of that many threads, so Ray's count of CPUs is the count the engine uses.

On a cluster: start Ray on each machine (``ray start --head`` on one, ``ray start --address
HEAD:6379`` on the others) and run this with ``--address auto`` on any of them. IMAGES_DIR
and MASKS_DIR must then be storage every node sees (a shared file system; Ray Data also reads
from object stores given as URLs), and so must ``--weights`` (or use the embedded model,
which every node's installed package carries).
"""

import argparse
import os
import time

import numpy as np
import ray

import mobilenet_unet

#: The files both paths read: Ray's default list also has .tif, .bmp and .gif, which the
#: single-process baseline (the package's decoder) does not read.
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg")


class Segmenter:
    """A Ray Data batch function with state: one Model per actor, loaded once."""

    def __init__(self, out_dir, weights=None, threads=1):
        if weights is None:
            self.model = mobilenet_unet.Model.default(threads=threads)
        else:
            self.model = mobilenet_unet.Model.load(weights, threads=threads)
        if self.model.n_classes > 256:
            raise ValueError("%s: %d classes do not fit an 8-bit mask"
                             % (self.model.source, self.model.n_classes))
        self.out_dir = out_dir

    def __call__(self, batch):
        masks = []
        # Images of different sizes come as an object array of arrays, equal sizes as one
        # [N, H, W, 3] array: iterating over the first axis handles both.
        for image, path in zip(batch["image"], batch["path"]):
            classes = self.model.segment(np.ascontiguousarray(image, dtype=np.uint8))
            stem = os.path.splitext(os.path.basename(path))[0]
            out = os.path.join(self.out_dir, stem + ".png")
            mobilenet_unet.write_image(out, classes.astype(np.uint8))
            masks.append(out)
        return {"path": np.asarray(batch["path"]), "mask": np.asarray(masks)}


def segment_folder(images_dir, masks_dir, weights=None, workers=2, threads_per_worker=1,
                   batch_size=16):
    """Writes a mask per image of ``images_dir`` into ``masks_dir``; returns {image: mask}.
    Ray must be initialised (``ray.init``) by the caller."""
    os.makedirs(masks_dir, exist_ok=True)
    # The reads reserve no CPU: decoding a PNG costs little next to segmenting it, and a read
    # that waited for a CPU would wait for ever once every CPU holds a model (an actor keeps
    # its CPUs for the whole run). Ray Data still bounds the reads in flight by its memory
    # budget for queued blocks.
    ds = ray.data.read_images(os.path.abspath(images_dir), mode="RGB", include_paths=True,
                              file_extensions=list(IMAGE_EXTENSIONS), num_cpus=0)
    masks = ds.map_batches(
        Segmenter,
        fn_constructor_kwargs={"out_dir": os.path.abspath(masks_dir), "weights": weights,
                               "threads": threads_per_worker},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads_per_worker,
    )
    return {row["path"]: row["mask"] for row in masks.iter_rows()}


def segment_folder_one_process(images_dir, masks_dir, weights=None, threads=None):
    """The same masks from one process and one Model, without Ray (the baseline)."""
    os.makedirs(masks_dir, exist_ok=True)
    segmenter = Segmenter(os.path.abspath(masks_dir), weights, threads)
    exts = tuple("." + e for e in IMAGE_EXTENSIONS)
    done = {}
    for name in sorted(os.listdir(images_dir)):
        if name.lower().endswith(exts):
            path = os.path.join(os.path.abspath(images_dir), name)
            out = segmenter({"image": [mobilenet_unet.read_image(path)], "path": [path]})
            done[path] = out["mask"][0]
    return done


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("images_dir")
    p.add_argument("masks_dir")
    p.add_argument("--weights", help="a .safetensors file (default: the embedded model)")
    p.add_argument("--workers", type=int, default=2, help="actors, one model each")
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--address", help="an existing Ray cluster (auto, or HEAD:6379); "
                   "default: start a local Ray with --workers x --threads-per-worker CPUs")
    p.add_argument("--single-process", action="store_true",
                   help="no Ray: one process, one Model with --threads-per-worker threads")
    args = p.parse_args(argv)
    if args.single_process:
        start = time.perf_counter()
        done = segment_folder_one_process(args.images_dir, args.masks_dir, args.weights,
                                          args.threads_per_worker)
        elapsed = time.perf_counter() - start
        print("%d masks in %s: %.1f s, %.1f images/s (one process, %d threads)"
              % (len(done), args.masks_dir, elapsed, len(done) / elapsed, args.threads_per_worker))
        return 0
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.workers * args.threads_per_worker)
    start = time.perf_counter()
    done = segment_folder(args.images_dir, args.masks_dir, args.weights, args.workers,
                          args.threads_per_worker, args.batch_size)
    elapsed = time.perf_counter() - start
    print("%d masks in %s: %.1f s, %.1f images/s (%d workers, Ray start-up excluded)"
          % (len(done), args.masks_dir, elapsed, len(done) / elapsed, args.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
