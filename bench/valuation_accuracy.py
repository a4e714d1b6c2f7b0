"""Accuracy and cost of firms' project valuations: the price search and the customer sample.

Records every call of :func:`aimarket.agents.valuation.line_profit_usd` (firms value their
candidate lines with it, through ``agents.strategy.value_candidates``) in baseline runs,
with the month's offerings and the deciding firm, keeps every k-th and re-values each

- with the default price search and with a reference search (60 starting markups from 1%
  to 1,000 times cost instead of 5, 40 steps instead of 4): the *search error*;
- against ten times as many customers (``strategy.valuation_customers`` x 10, stratified
  the same way from the run's own population and weighed by the call's month's adoption,
  usage and value factor as the run's sample is; the month's rivals weighed on them), with
  the default search: the *sampling error* of the valuation sample.

Each error is, per call, the largest difference over lines and moments as a fraction of
the call's largest reference (or larger-sample) profit, over the calls where some line
earns something. Prints their median, 90th percentile and worst; how often the line most
profitable now (first moment) is the same on both samples; how often the default search
finds more than the reference (it should not, beyond rounding); the time per call of both
searches; and two checks that the re-valuation reproduces what the runs computed.

Usage: ``python bench/valuation_accuracy.py [--runs N] [--every K]``. Writes
``bench/results/valuation_accuracy.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import report

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from aimarket.agents.products import Offers
    from aimarket.agents.valuation import CustomerSample, Product
    from aimarket.sim.model import MarketModel

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "baseline.toml"
REFERENCE_MARKUPS = (0.01, 1000.0, 60)  # np.geomspace's arguments
REFERENCE_REACH = 40  # starts on the way to the most eager customer's price
REFERENCE_ITERATIONS = 40
SAMPLE_FACTOR = 10
ROUNDING = 1e-9  # of the call's largest profit: the search evaluates demand in float64


@dataclass(frozen=True)
class Call:
    """One recorded valuation, and the month's offerings and deciding firm behind it."""

    run: int
    lines: list[tuple[Product, ...]]
    sample: CustomerSample
    rivals_log_weight: NDArray[np.float64]
    kw: dict[str, Any]  # elasticity, kappa_shift, cost_factor
    offers: Offers | None  # None: nothing on sale yet
    firm_id: int | None  # None: a would-be entrant
    profit: NDArray[np.float64]  # what the run computed


def main() -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy as np

    from aimarket.agents import valuation

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="baseline replications to record")
    parser.add_argument("--every", type=int, default=6, help="keep every k-th valuation")
    args = parser.parse_args()

    models, calls, recorded = record_runs(args.runs, args.every)
    solve = valuation.line_profit_usd
    t0 = time.perf_counter()
    default = [solve(c.lines, c.sample, c.rivals_log_weight, **c.kw) for c in calls]
    default_s = time.perf_counter() - t0
    markups, reach = valuation._MARKUPS, valuation._REACH
    valuation._MARKUPS = np.geomspace(*REFERENCE_MARKUPS)
    valuation._REACH = np.linspace(0.1, 1.0, REFERENCE_REACH)
    try:
        t0 = time.perf_counter()
        reference = [
            solve(c.lines, c.sample, c.rivals_log_weight, **c.kw, iterations=REFERENCE_ITERATIONS)
            for c in calls
        ]
        reference_s = time.perf_counter() - t0
    finally:
        valuation._MARKUPS, valuation._REACH = markups, reach
    larger = [larger_sample(m, SAMPLE_FACTOR) for m in models]
    month_larger = [as_in_month(larger[c.run], c.sample, models[c.run].sample) for c in calls]
    resampled = [
        solve(c.lines, big, rivals_on(c, big), **c.kw)
        for c, big in zip(calls, month_larger, strict=True)
    ]

    search = errors(default, reference)
    sampling = errors(default, resampled)
    above = np.array(
        [(d - r).max() / r.max() for d, r in zip(default, reference, strict=True) if r.max() > 0]
    )
    same_best = [
        np.argmax(d[0]) == np.argmax(r[0])
        for d, r in zip(default, resampled, strict=True)
        if r.max() > 0
    ]
    figures = {
        "calls_recorded": recorded,
        "calls_revalued": len(calls),
        "calls_with_profit": int(search.size),
        "search_error_frac_median": float(np.median(search)),
        "search_error_frac_p90": float(np.percentile(search, 90)),
        "search_error_frac_max": float(search.max()),
        "default_above_reference_frac": float(np.mean(above > ROUNDING)),
        "default_above_reference_max_frac": float(above.max()),
        "default_ms_per_call": default_s / len(calls) * 1e3,
        "reference_ms_per_call": reference_s / len(calls) * 1e3,
        "sampling_customers": int(larger[0].segment.shape[0]),
        "sampling_error_frac_median": float(np.median(sampling)),
        "sampling_error_frac_p90": float(np.percentile(sampling, 90)),
        "sampling_error_frac_max": float(sampling.max()),
        "same_best_now_frac": float(np.mean(same_best)),
        "recorded_reproduced_frac": float(
            np.mean([np.array_equal(d, c.profit) for d, c in zip(default, calls, strict=True)])
        ),
        "rivals_reproduced_frac": float(
            np.mean([np.allclose(rivals_on(c, c.sample), c.rivals_log_weight) for c in calls])
        ),
    }
    report("valuation_accuracy", figures)


def record_runs(runs: int, every: int) -> tuple[list[MarketModel], list[Call], int]:
    """Run ``runs`` baseline replications; every ``every``-th valuation made in them (from
    the first), and how many were made."""
    import aimarket.agents.strategy as strategy
    import aimarket.agents.valuation as valuation
    from aimarket.agents.context import MarketContext
    from aimarket.experiments.config import load_config
    from aimarket.experiments.runner import base_point_specs
    from aimarket.sim.model import MarketModel

    solve, weigh = valuation.line_profit_usd, MarketContext.rivals_log_weight
    models: list[MarketModel] = []
    calls: list[Call] = []
    count = 0
    last: tuple[Any, Offers | None, int | None] = (None, None, None)

    def rivals_log_weight(ctx: MarketContext, firm_id: int | None) -> NDArray[np.float64]:
        nonlocal last
        out = weigh(ctx, firm_id)
        rivals = ctx.rivals()
        last = (out, None if rivals is None else rivals.offers, firm_id)
        return out

    def line_profit_usd(lines: Any, sample: Any, weight: Any, **kw: Any) -> NDArray[np.float64]:
        nonlocal count
        profit = solve(lines, sample, weight, **kw)
        if count % every == 0:
            if last[0] is not weight:
                raise RuntimeError("a valuation against rivals not from MarketContext")
            calls.append(Call(len(models), lines, sample, weight, kw, last[1], last[2], profit))
        count += 1
        return profit

    valuation.line_profit_usd = strategy.line_profit_usd = line_profit_usd
    MarketContext.rivals_log_weight = rivals_log_weight
    try:
        for spec in base_point_specs(load_config(CONFIG))[:runs]:
            model = MarketModel(
                spec.params,
                seed=spec.seed,
                horizon_months=spec.horizon_months,
                start_month=spec.start_month,
                run_id=spec.run_id,
            )
            model.run_model()
            models.append(model)
    finally:
        valuation.line_profit_usd = strategy.line_profit_usd = solve
        MarketContext.rivals_log_weight = weigh
    return models, calls, count


def larger_sample(model: MarketModel, factor: int) -> CustomerSample:
    """The run's valuation sample, drawn the same way from its population but ``factor``
    times larger."""
    size = factor * model.params.strategy.valuation_customers
    return model._customer_sample(model.customers.stratified_columns(size))


def as_in_month(
    larger: CustomerSample, month: CustomerSample, base: CustomerSample
) -> CustomerSample:
    """``larger`` weighed as the call's month weighs the run's sample: each segment's aware
    share, usage and value factor (``month`` is ``base`` scaled by them, customer by
    customer; see ``MarketModel.month_sample``)."""
    import dataclasses

    import numpy as np

    terms = []
    for field in ("weight", "queries", "value_usd_per_token"):
        ratio = getattr(month, field) / getattr(base, field)
        per_segment = np.ones(larger.n_segments)
        per_segment[base.segment] = ratio  # the same within a segment
        terms.append(getattr(larger, field) * per_segment[larger.segment])
    weight, queries, value = terms
    return dataclasses.replace(larger, weight=weight, queries=queries, value_usd_per_token=value)


def rivals_on(call: Call, sample: CustomerSample) -> NDArray[np.float64]:
    """``(t, m)`` the nest weight on ``sample`` of the offerings the call's firm faced."""
    import numpy as np

    from aimarket.agents.valuation import Rivals

    kw = call.kw
    if call.offers is None:
        return np.full((kw["kappa_shift"].shape[0], sample.segment.shape[0]), -np.inf)
    rivals = Rivals.build(
        call.offers,
        sample,
        elasticity=kw["elasticity"],
        kappa_shift=kw["kappa_shift"],
        cost_factor=kw["cost_factor"],
    )
    return rivals.log_weight(None if call.firm_id is None else call.offers.firm_ids == call.firm_id)


def errors(
    values: list[NDArray[np.float64]], reference: list[NDArray[np.float64]]
) -> NDArray[np.float64]:
    """Per call with some profit: the largest difference as a fraction of the reference's
    largest value."""
    import numpy as np

    return np.array(
        [
            np.abs(v - r).max() / r.max()
            for v, r in zip(values, reference, strict=True)
            if r.max() > 0
        ]
    )


if __name__ == "__main__":
    main()
