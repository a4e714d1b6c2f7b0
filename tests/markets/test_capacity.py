"""Serving from contracts and the spot pool: conservation and pro-rata rationing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.markets.capacity import serve_from_capacity

gpus = st.floats(0.0, 1e6, allow_nan=False)


@given(
    need=st.lists(gpus, min_size=1, max_size=6),
    held=st.lists(gpus, min_size=6, max_size=6),
    pool=gpus,
)
def test_nothing_served_beyond_need_contracts_or_pool(need, held, pool) -> None:
    need = np.array(need)
    held = np.array(held[: need.size])
    s = serve_from_capacity(need, held, pool)
    assert (s.from_contract <= held).all()
    assert (s.from_contract <= need).all()
    assert s.from_spot.sum() <= pool * (1 + 1e-12) + 1e-9
    assert (s.from_contract + s.from_spot <= need * (1 + 1e-12) + 1e-9).all()
    assert ((s.served_frac >= 0) & (s.served_frac <= 1)).all()
    if s.spot_demand <= pool:  # enough spot: everyone is served in full
        np.testing.assert_allclose(s.from_contract + s.from_spot, need)


def test_a_short_pool_rations_every_spot_need_in_proportion() -> None:
    s = serve_from_capacity([30.0, 10.0, 5.0], [0.0, 0.0, 5.0], 20.0)
    np.testing.assert_allclose(s.from_spot, [15.0, 5.0, 0.0])
    np.testing.assert_allclose(s.served_frac, [0.5, 0.5, 1.0])
    assert s.spot_demand == 40.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="must match"):
        serve_from_capacity([1.0, 2.0], [1.0], 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        serve_from_capacity([-1.0], [0.0], 1.0)
