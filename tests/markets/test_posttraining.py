"""Post-training's capability return and tool use's token saving (markets/posttraining.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.markets.posttraining import (
    post_training_frac,
    post_training_gain_oom,
    tool_token_frac,
)

CURVE = {"mid_frac": 0.1, "slope": 1.0}


@given(
    gain=st.floats(0.05, 3.0),
    mid=st.floats(1e-3, 1.0),
    slope=st.floats(0.3, 3.0),
)
def test_post_training_raises_capability_with_diminishing_returns(
    gain: float, mid: float, slope: float
) -> None:
    # Each OOM of post-training compute past the half-gain point adds less than the one
    # before, the total never exceeds the asymptote, and none adds nothing.
    fracs = mid * 10.0 ** np.arange(0.0, 4.0)
    g = np.asarray(post_training_gain_oom(fracs, gain_oom=gain, mid_frac=mid, slope=slope))
    steps = np.diff(g)
    assert (steps > 0).all()
    assert (np.diff(steps) < 0).all()
    assert g[-1] <= gain
    assert post_training_gain_oom(mid, gain_oom=gain, mid_frac=mid, slope=slope) == pytest.approx(
        gain / 2
    )


def test_a_larger_return_buys_more_post_training() -> None:
    # Reasoning's larger gain pays for a larger share of the budget; no gain, no share.
    plain = post_training_frac(gain_oom=0.3, **CURVE)
    reasoning = post_training_frac(gain_oom=0.6, **CURVE)
    assert 0 < plain[0] < reasoning[0]
    assert 0 < plain[1] < reasoning[1]
    assert post_training_frac(gain_oom=0.0, **CURVE) == (0.0, 0.0)


@given(gain=st.floats(0.05, 3.0))
def test_the_chosen_share_beats_its_neighbours(gain: float) -> None:
    # The split maximises capability per training budget: one grid step either way
    # (40 a decade) gives no more.
    r, g = post_training_frac(gain_oom=gain, **CURVE)

    def net(x: float) -> float:
        return float(post_training_gain_oom(x, gain_oom=gain, **CURVE)) - np.log10(1 + x)

    assert g == pytest.approx(post_training_gain_oom(r, gain_oom=gain, **CURVE))
    step = 10 ** (1 / 40)
    assert net(r) >= max(net(r * step), net(r / step)) - 1e-12


def test_tools_save_tokens_only_from_their_capability_threshold() -> None:
    kappa = np.array([25.0, 25.68, 25.69, 28.0])
    out = np.asarray(tool_token_frac(kappa, 0.3, min_kappa=25.69, saving_frac=0.5))
    assert out.tolist() == [1.0, 1.0, pytest.approx(0.85), pytest.approx(0.85)]
    assert tool_token_frac(28.0, 0.3, min_kappa=25.69, saving_frac=0.0) == 1.0


def test_a_negative_share_is_refused() -> None:
    with pytest.raises(ValueError, match="frac"):
        post_training_gain_oom(-0.1, gain_oom=0.3, **CURVE)
