"""One Model from several Python threads; the GIL released while the network runs; results
that do not depend on the thread count."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from conftest import WEIGHTS

import mobilenet_unet


def _inputs(n, shape=(1, 96, 128, 3)):
    rng = np.random.default_rng(3)
    return [(rng.standard_normal(shape) * 50).astype(np.float32) for _ in range(n)]


def test_one_model_many_threads(model, test_images):
    xs = _inputs(8)
    expected = [model.predict(x) for x in xs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(model.predict, xs * 3))
    assert len(got) == 24
    for i, g in enumerate(got):
        assert np.array_equal(g, expected[i % 8])
    maps = [model.segment(p) for p in test_images[:8]]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got_maps = list(pool.map(model.segment, test_images[:8]))
    assert all(np.array_equal(a, b) for a, b in zip(maps, got_maps))


def test_thread_count_does_not_change_results():
    x = _inputs(1, (2, 128, 160, 3))[0]
    one = mobilenet_unet.Model.load(WEIGHTS, threads=1).predict(x)
    two = mobilenet_unet.Model.load(WEIGHTS, threads=2).predict(x)
    shared = mobilenet_unet.Model.load(WEIGHTS).predict(x)
    assert np.array_equal(one, two) and np.array_equal(one, shared)


def test_gil_is_released_during_predict():
    """A pure-Python thread keeps running while predict runs: with the GIL held it could not
    (the interpreter hands the GIL over between bytecodes, never inside a call). The other
    thread's iterations are timed, and counted only in the middle half of the call, which a
    hand-over just before or after the call (at most a switch interval, 5 ms) cannot reach."""
    model = mobilenet_unet.Model.load(WEIGHTS, threads=1)
    x = _inputs(1, (4, 224, 224, 3))[0]
    model.predict(x)  # plan the buffers first
    stamps, stop = [], threading.Event()

    def spin():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    start = time.perf_counter()
    model.predict(x)
    end = time.perf_counter()
    stop.set()
    t.join()
    quarter = (end - start) / 4
    during = sum(1 for s in stamps if start + quarter < s < end - quarter)
    print("predict took %.3f s; the other thread ran %d iterations in its middle half"
          % (end - start, during))
    assert end - start > 0.04, "predict too quick to tell"
    assert during > 100


def test_non_contiguous_inputs_equal_contiguous(model):
    base = _inputs(1, (2, 64, 96, 3))[0]
    expected = model.predict(base)
    fortran = np.asfortranarray(base)
    flipped = np.ascontiguousarray(base[:, :, ::-1])[:, :, ::-1]  # negative strides, same values
    wide = np.zeros((2, 64, 96, 6), np.float32)
    wide[..., ::2] = base
    strided = wide[..., ::2]  # every other channel: a step of 2 on the last axis
    readonly = base.copy()
    readonly.flags.writeable = False
    for x in (fortran, flipped, strided, readonly):
        assert np.array_equal(x, base)
        assert np.array_equal(model.predict(x), expected)
