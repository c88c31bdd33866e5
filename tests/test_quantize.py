"""Re-quantization (issue 16): the round trip of the shipped formats is exact on the unmodified
embedded model, and an update smaller than half a Q4_1 bin is rounded away while a larger one moves
the weight by exactly one bin (hand-computed from the format: w = m + q d per block of 32)."""
from collections import Counter

import numpy as np
import pytest
import torch

from rwku_core import quantize as Q


@pytest.fixture(scope="module")
def smollm2():
    from rwku_core.models import load_model
    return load_model("smollm2-135m-instruct")


def test_requantizing_the_unmodified_model_reproduces_its_weights_exactly(smollm2):
    formats = Q.gguf_formats(smollm2)
    assert Counter(formats.values()) == {"Q4_1": 210, "Q8_0": 1}      # 30 layers x 7 projections; the embedding
    before = {k: v.detach().clone() for k, v in Q.quantizable(smollm2.model).items()}
    try:
        assert Q.requantize_(smollm2.model, formats) == {"Q4_1": 210, "Q8_0": 1}
        after = Q.quantizable(smollm2.model)
        for name in formats:
            assert torch.equal(after[name], before[name]), name                # bit for bit
    finally:
        with torch.no_grad():
            for k, v in Q.quantizable(smollm2.model).items():
                v.copy_(before[k])


def test_q4_1_rounds_small_updates_away_and_moves_large_ones_one_bin(smollm2):
    name = "model.layers.0.mlp.down_proj.weight"
    assert Q.gguf_formats(smollm2)[name] == "Q4_1"
    w = Q.quantizable(smollm2.model)[name].detach().float().numpy()[:64].copy()   # 64 rows, on the Q4_1 grid
    d = Q.q4_1_bin_width(w)
    blocks = w.reshape(-1, Q.BLOCK)
    lo, hi = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    q = np.rint((blocks - lo) / np.where(hi > lo, (hi - lo) / 15, 1)).reshape(w.shape)
    inner = ((q > 0) & (q < 14)).astype(np.float32)      # neither a block's min nor max (they fix d and m), room above
    assert inner.mean() > 0.5
    assert np.array_equal(Q.round_trip(w, "Q4_1"), w)                        # on the grid already
    small = w + 0.2 * d * inner                                              # a fifth of a bin: undone
    assert np.array_equal(Q.round_trip(small, "Q4_1"), w)
    large = w + 0.7 * d * inner                                              # more than half: the next level
    np.testing.assert_allclose(Q.round_trip(large, "Q4_1"), w + d * inner, rtol=0, atol=1e-3 * float(d.max()))
    # Q8_0 (256 levels per block) keeps far more of the small update
    assert np.abs(Q.round_trip(small, "Q8_0") - small).max() < np.abs(w - small).max()


def test_an_unknown_format_or_weight_is_a_clear_error(smollm2):
    with pytest.raises(ValueError, match="Q4_1"):
        Q.round_trip(np.zeros((1, 32), dtype=np.float32), "Q3_X")
    with pytest.raises(ValueError, match="not a quantizable weight"):
        Q.requantize_(smollm2.model, {"model.norm.weight": "Q4_1"})
