"""Reasoning effort and task success of a segment's typical customer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimarket.agents.effort import (
    EFFORT_STEPS_PER_OOM,
    SegmentProfile,
    blended_success,
    reasoning_effort,
)
from aimarket.markets.testtime import testtime_gain_oom


def _segments(value_usd: float = 10.0, difficulty: float = 27.0, s: int = 1) -> SegmentProfile:
    return SegmentProfile(
        tokens=np.full(s, 1000.0),
        value_usd=np.full(s, value_usd),
        difficulty_kappa=np.full(s, difficulty),
        hard_frac=np.full(s, 0.2),
        hard_extra_oom=np.full(s, 1.5),
        latency_value_frac_per_s=np.zeros(s),
    )


def _effort(usd_per_token, *, base=25.0, max_m=1e3, segments=None, tau=0.67, cap=1.0):
    usd = np.atleast_1d(np.asarray(usd_per_token, dtype=float))
    k = usd.shape[0]
    return reasoning_effort(
        np.full(k, base),
        np.full(k, max_m),
        usd,
        np.zeros(k),
        segments if segments is not None else _segments(),
        oom_per_oom=tau,
        cap_oom=cap,
        slope_per_oom=2.0,
    )


@settings(max_examples=60, deadline=None)
@given(
    log_cost=st.floats(-10, -2),
    base=st.floats(20, 35),
    max_m=st.sampled_from([1.0, 10.0, 1e3]),
    value=st.floats(0.01, 1e5),
    tau=st.floats(0.1, 1.0),
    cap=st.floats(0.0, 3.5),
)
def test_effort_stays_on_the_grid_and_pays_for_itself(log_cost, base, max_m, value, tau, cap):
    seg = _segments(value_usd=value)
    m, kappa = _effort(10.0**log_cost, base=base, max_m=max_m, segments=seg, tau=tau, cap=cap)
    assert 1.0 <= m[0, 0] <= max_m * (1 + 1e-9)
    steps = np.log10(m[0, 0]) * EFFORT_STEPS_PER_OOM
    assert steps == pytest.approx(round(steps), abs=1e-9)
    gain = testtime_gain_oom(m[0, 0], oom_per_oom=tau, cap_oom=cap)
    assert kappa[0, 0] == pytest.approx(base + gain)

    def net(mult: float) -> float:
        k = base + testtime_gain_oom(mult, oom_per_oom=tau, cap_oom=cap)
        p = blended_success(
            np.array([k]),
            seg.difficulty_kappa,
            seg.hard_frac,
            seg.hard_extra_oom,
            slope_per_oom=2.0,
        )[0, 0]
        return value * p - 1000.0 * mult * 10.0**log_cost

    assert net(m[0, 0]) >= net(1.0) - 1e-9 * max(1.0, abs(net(1.0)))


@settings(max_examples=40, deadline=None)
@given(log_cost=st.floats(-10, -3), ratio=st.floats(1.0, 1e3), value=st.floats(0.1, 1e4))
def test_cheaper_tokens_never_buy_less_reasoning(log_cost, ratio, value):
    m, _ = _effort([10.0**log_cost, 10.0**log_cost * ratio], segments=_segments(value))
    assert m[0, 0] >= m[0, 1]


def test_a_model_that_cannot_reason_spends_one_answer() -> None:
    m, kappa = _effort([1e-9, 1e-3], max_m=1.0)
    np.testing.assert_array_equal(m, 1.0)
    np.testing.assert_array_equal(kappa, 25.0)


def test_valuable_hard_work_gets_more_reasoning_than_chat() -> None:
    seg = SegmentProfile(
        tokens=np.array([1000.0, 1000.0]),
        value_usd=np.array([0.01, 1000.0]),
        difficulty_kappa=np.array([27.0, 27.0]),
        hard_frac=np.zeros(2),
        hard_extra_oom=np.zeros(2),
        latency_value_frac_per_s=np.zeros(2),
    )
    m, _ = _effort([1e-7], segments=seg)
    assert m[1, 0] > m[0, 0]


def test_blended_success_takes_one_kappa_per_customer() -> None:
    d = np.array([24.0, 26.0, 28.0])
    h, x = np.full(3, 0.3), np.full(3, 1.0)
    per_offer = blended_success(np.array([25.0, 27.0]), d, h, x, slope_per_oom=2.0)
    per_customer = blended_success(np.array([[25.0] * 3, [27.0] * 3]), d, h, x, slope_per_oom=2.0)
    np.testing.assert_allclose(per_offer, per_customer)


def _tool_effort(
    base: float, *, saving: float, usd_per_token: float = 3e-5, max_multiplier: float = 1e3
):
    return reasoning_effort(
        np.array([base]),
        np.array([max_multiplier]),
        np.array([usd_per_token]),
        np.zeros(1),
        _segments(),
        oom_per_oom=0.67,
        cap_oom=1.0,
        slope_per_oom=2.0,
        tool_min_kappa=25.69,
        tool_saving_frac=saving,
    )


@pytest.mark.parametrize("base", [25.69, 26.5, 28.0])
def test_tools_cut_the_tokens_of_a_capable_model(base: float) -> None:
    # Above the threshold the hard share (0.2) of the work is half done by tools: a query
    # takes 0.9 of the tokens its effort would (the effort is still a grid point), and
    # since every token of reasoning costs less, the effort itself is never smaller.
    without, kappa_without = _tool_effort(base, saving=0.0)
    with_tools, kappa_with = _tool_effort(base, saving=0.5)
    effort = with_tools[0, 0] / 0.9  # tokens = effort * (1 - 0.2 * 0.5)
    steps = np.log10(effort) * EFFORT_STEPS_PER_OOM
    assert steps == pytest.approx(round(steps), abs=1e-9)
    assert effort >= without[0, 0] - 1e-9
    assert kappa_with[0, 0] >= kappa_without[0, 0] - 1e-9


@pytest.mark.parametrize("base", [22.0, 25.0, 25.68])
def test_tools_save_nothing_below_their_threshold(base: float) -> None:
    without, kappa_without = _tool_effort(base, saving=0.0)
    with_tools, kappa_with = _tool_effort(base, saving=0.5)
    assert with_tools[0, 0] == without[0, 0]
    assert kappa_with[0, 0] == kappa_without[0, 0]


def test_tools_lower_the_tokens_of_a_cheap_plain_answer() -> None:
    # A model that does not reason (effort 1) still spends 10% fewer tokens with tools.
    m, _ = _tool_effort(27.0, saving=0.5, max_multiplier=1.0)
    assert m[0, 0] == pytest.approx(0.9)


@pytest.mark.parametrize("usd_per_token", np.geomspace(1e-8, 1e-3, 11).tolist())
def test_a_tool_user_reasons_as_if_its_tokens_were_cheaper(usd_per_token: float) -> None:
    # The saving is priced into the choice of effort: with a tenth of the tokens done by
    # tools, the effort is the one a model without tools would choose at 0.9 of the cost.
    with_tools, _ = _tool_effort(27.0, saving=0.5, usd_per_token=usd_per_token)
    cheaper, _ = _tool_effort(27.0, saving=0.0, usd_per_token=0.9 * usd_per_token)
    assert with_tools[0, 0] / 0.9 == pytest.approx(cheaper[0, 0])
