"""Customers learn (agents.growth): adoption follows capability, usage follows prices."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from aimarket.agents.growth import DemandGrowth
from aimarket.agents.params import AdoptionParams, UsageParams


def _growth(**usage) -> DemandGrowth:
    adoption = AdoptionParams(initial_frac=0.05, innovation_per_month=0.01, imitation_per_month=0.1)
    # No bound on the work unless a test sets one: the rules below are exact without it.
    defaults = {
        "price_elasticity": 0.7,
        "work_oom_per_capability_oom": 0.0,
        "work_share_at_start_frac": 0.0,
    }
    rule = UsageParams(**(defaults | {"adjustment_per_month": 1.0} | usage))
    # Two segments of difficulty 25: per-token (API) buyers and subscribers.
    return DemandGrowth(
        np.array([25.0, 25.0]),
        np.array([False, True]),
        adoption=adoption,
        usage=rule,
        slope_per_oom=2.0,
    )


def _offers(kappa: float) -> SimpleNamespace:
    """One model on sale in both segments at capability ``kappa``."""
    return SimpleNamespace(kappa=np.full((2, 1), kappa), available=np.ones((2, 1), bool))


def _months(growth: DemandGrowth, kappa: float, prices, tokens: float = 1e9) -> None:
    for price in prices:
        growth.update(_offers(kappa), np.full(2, price * tokens), np.full(2, tokens))


def test_a_model_that_clears_the_difficulty_speeds_adoption() -> None:
    below, above = _growth(), _growth()
    _months(below, 23.0, [1.0] * 12)
    _months(above, 27.0, [1.0] * 12)
    assert (above.aware_frac > below.aware_frac + 0.1).all()


def test_crossing_the_difficulty_later_starts_diffusion_then() -> None:
    # A "ChatGPT moment": adoption crawls while models fall short, then takes off.
    g = _growth()
    _months(g, 22.0, [1.0] * 12)
    crawl = g.aware_frac[0]
    _months(g, 27.0, [1.0] * 12)
    assert g.aware_frac[0] - crawl > 5 * (crawl - 0.05)


def test_a_lower_price_per_task_raises_usage_with_the_configured_elasticity() -> None:
    g = _growth(price_elasticity=0.7)
    _months(g, 27.0, [2.0, 1.0, 0.25])  # the first month sets the reference
    # Per-token buyers: a price per task 8 times lower, 8 ** 0.7 times the work.
    np.testing.assert_allclose(g.usage[0], 8.0**0.7, rtol=1e-12)
    # Subscribers pay nothing at the margin inside their plan: no price effect.
    assert g.usage[1] == 1.0


def test_usage_rises_with_capability_and_ignores_months_without_purchases() -> None:
    g = _growth(price_elasticity=1.0, work_oom_per_capability_oom=0.5)
    _months(g, 26.0, [1.0])
    g.update(_offers(28.0), np.zeros(2), np.zeros(2))  # nobody bought: price unknown
    # Two OOM more capability, 10 ** (0.5 * 2) = 10 times the work; the price ratio kept.
    np.testing.assert_allclose(g.usage, 10.0, rtol=1e-12)


def test_a_customer_never_gives_ai_more_than_all_of_its_work() -> None:
    # AI did a twentieth of the work at the start: however far the price per task falls and
    # capability rises, the work stays below 20 times the start's, where without the bound
    # it runs to a hundred thousand times; while the share is small the two agree.
    bounded = _growth(
        price_elasticity=1.0, work_oom_per_capability_oom=0.5, work_share_at_start_frac=0.05
    )
    free = _growth(price_elasticity=1.0, work_oom_per_capability_oom=0.5)
    for g in (bounded, free):
        _months(g, 26.0, [1.0, 0.999])
    np.testing.assert_allclose(bounded.usage[0], free.usage[0], rtol=0.01)
    for g in (bounded, free):
        _months(g, 32.0, [1.0, 1e-2])
    assert free.usage[0] > 9e4
    assert 19.0 < bounded.usage[0] < 20.0
    assert bounded.usage[1] < 20.0  # subscribers: the capability term alone, bounded too


def test_the_extra_work_is_worth_less_per_token() -> None:
    g = _growth(price_elasticity=1.0, value_dilution=0.5)
    _months(g, 27.0, [1.0, 0.25])
    np.testing.assert_allclose(g.usage[0], 4.0, rtol=1e-12)
    np.testing.assert_allclose(g.value_factor[0], 4.0**-0.5, rtol=1e-12)
    assert g.value_factor[1] == 1.0  # subscribers' usage did not move


def test_usage_moves_part_of_the_way_each_month() -> None:
    # The price per task falls 8x once; with a monthly adjustment of a fifth, usage covers
    # a fifth of the way (in logarithms) in the first month and approaches 8 ** 0.7 after.
    slow, fast = _growth(adjustment_per_month=0.2), _growth()
    for g in (slow, fast):
        _months(g, 27.0, [2.0, 0.25])
    target = 8.0**0.7
    np.testing.assert_allclose(fast.usage[0], target, rtol=1e-12)
    np.testing.assert_allclose(slow.usage[0], target**0.2, rtol=1e-12)
    _months(slow, 27.0, [0.25] * 40)
    np.testing.assert_allclose(slow.usage[0], target, rtol=1e-3)
