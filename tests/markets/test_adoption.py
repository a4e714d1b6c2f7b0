"""Diffusion and usage rules (markets.adoption): properties over drawn inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from aimarket.agents.params import AdoptionParams
from aimarket.markets.adoption import adoption_potential, bass_step, usage_multiplier

DOCS = Path(__file__).resolve().parents[2] / "docs"

fracs = st.floats(0.0, 1.0)
rates = st.floats(0.0, 1.0)


@given(a=fracs, m=fracs, p=rates, q=rates)
@example(a=1.0, m=2.225073858507203e-309, p=0.0, q=0.0)  # a subnormal potential overflowed A / M
def test_bass_never_falls_and_never_passes_the_potential(a, m, p, q) -> None:
    after = float(bass_step(a, m, innovation_per_month=p, imitation_per_month=q))
    assert after >= a
    assert after <= max(a, m) + 1e-12


@given(a=st.floats(0.01, 0.5), m=st.floats(0.6, 1.0), p=st.floats(0.0, 0.1))
def test_word_of_mouth_speeds_diffusion(a, m, p) -> None:
    slow = bass_step(a, m, innovation_per_month=p, imitation_per_month=0.0)
    fast = bass_step(a, m, innovation_per_month=p, imitation_per_month=0.2)
    assert fast > slow


@given(kappa=st.floats(15.0, 40.0), gain=st.floats(0.01, 5.0))
def test_more_capability_raises_the_potential(kappa, gain) -> None:
    low = adoption_potential(kappa, 27.0, slope_per_oom=2.0)
    high = adoption_potential(kappa + gain, 27.0, slope_per_oom=2.0)
    assert high >= low
    assert 0.0 <= low <= 1.0


@given(ratio=st.floats(1e-4, 1e4), elasticity=st.floats(0.0, 3.0))
def test_usage_has_the_configured_price_elasticity(ratio, elasticity) -> None:
    # d log(usage) / d log(price) = -elasticity, exactly.
    u = usage_multiplier(
        ratio,
        0.0,
        price_elasticity=elasticity,
        work_oom_per_capability_oom=0.0,
        work_share_at_start_frac=0.0,
    )
    np.testing.assert_allclose(np.log(u), -elasticity * np.log(ratio), atol=1e-9)


@given(
    ratio=st.floats(1e-6, 1e6),
    gain=st.floats(-3.0, 10.0),
    elasticity=st.floats(0.0, 3.0),
    share=st.floats(1e-4, 1.0),
)
def test_usage_never_passes_all_of_the_work_and_keeps_its_direction(
    ratio, gain, elasticity, share
) -> None:
    # The multiplier acts on the odds that work goes to AI: at most 1 / share (all of the
    # work), and it moves the same way as without the bound.
    kw = {"price_elasticity": elasticity, "work_oom_per_capability_oom": 0.5}
    u = float(usage_multiplier(ratio, gain, work_share_at_start_frac=share, **kw))
    free = float(usage_multiplier(ratio, gain, work_share_at_start_frac=0.0, **kw))
    assert u <= 1.0 / share * (1 + 1e-12)
    assert (u - 1.0) * (free - 1.0) >= 0.0


def test_undefined_prices_and_capabilities_leave_usage_alone() -> None:
    u = usage_multiplier(
        [np.nan, 0.0, 1.0],
        [0.0, np.nan, 0.0],
        price_elasticity=1.0,
        work_oom_per_capability_oom=1,
        work_share_at_start_frac=0.05,
    )
    assert u.tolist() == [1.0, 1.0, 1.0]


def test_the_adoption_defaults_are_the_documented_fit() -> None:
    # docs/model.md cites docs/scripts/bass_fit.py for demand.adoption's p and q.
    spec = importlib.util.spec_from_file_location("bass_fit", DOCS / "scripts" / "bass_fit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, p, q = module.fit()
    defaults = AdoptionParams()
    np.testing.assert_allclose(defaults.innovation_per_month, p, rtol=0.02)
    np.testing.assert_allclose(defaults.imitation_per_month, q, rtol=0.02)
