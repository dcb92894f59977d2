"""The committed Keras fixtures (crates/verify/fixtures: Keras 3.15 outputs) within 1e-4."""

import numpy as np
import pytest
from conftest import FIXTURES, KERAS_CASES, read_safetensors

import mobilenet_unet


@pytest.mark.parametrize("case", KERAS_CASES)
def test_predict_matches_keras(case):
    io, meta = read_safetensors(FIXTURES / (case + ".io.safetensors"))
    model = mobilenet_unet.Model.load(FIXTURES / (case + ".weights.safetensors"))
    assert model.n_classes == int(meta["n_classes"])
    probs = model.predict(np.ascontiguousarray(io["input"]))
    keras = io["output"]
    assert probs.shape == keras.shape
    diff = float(np.abs(probs - keras).max())
    # argmax must agree wherever Keras's top two probabilities are clearly apart
    top2 = np.sort(keras, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > 1e-4
    same = (probs.argmax(-1) == keras.argmax(-1))[clear].mean()
    print("%s: max |Python - Keras| = %.3g, argmax equal on %.4f of clear pixels"
          % (case, diff, same))
    assert diff <= 1e-4
    assert same == 1.0
