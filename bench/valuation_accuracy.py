"""Accuracy and cost of firms' project valuations: the price search and the customer sample.

Records every call of ``agents.strategy.monthly_profit_usd`` in baseline runs, then
re-values a sample of them

- with the default search and with a reference search (400 starting prices, 10 steps):
  the *search error*;
- against ten times as many sampled customers (``strategy.valuation_customers`` x 10,
  stratified the same way, from the run's own population), with the default search: the
  *sampling error* of the valuation sample;

and prints each as a fraction of the call's largest candidate profit (median, 90th
percentile, worst), with the time per call and how often the candidate with the largest
profit now (first moment) is the same.

Usage: ``python bench/valuation_accuracy.py [--runs N] [--every K]``. Writes
``bench/results/valuation_accuracy.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import report

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "baseline.toml"


def main() -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy as np

    import aimarket.agents.strategy as strategy
    from aimarket.agents.strategy import MarketView
    from aimarket.experiments.config import load_config
    from aimarket.experiments.runner import base_point_specs
    from aimarket.sim.model import MarketModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="baseline replications to record")
    parser.add_argument("--every", type=int, default=6, help="keep every k-th valuation")
    args = parser.parse_args()

    calls = []
    solve = strategy.monthly_profit_usd

    def record(*a, **kw):
        calls.append((a, kw, len(models)))
        return solve(*a, **kw)

    models = []
    strategy.monthly_profit_usd = record
    try:
        config = load_config(CONFIG)
        for spec in base_point_specs(config)[: args.runs]:
            model = MarketModel(
                spec.params,
                seed=spec.seed,
                horizon_months=spec.horizon_months,
                start_month=spec.start_month,
            )
            model.run_model()
            models.append(model)
    finally:
        strategy.monthly_profit_usd = solve
    sample = calls[:: args.every]
    reference = [solve(*a, **{**kw, "start_prices": 400, "iterations": 10}) for a, kw, _ in sample]
    t0 = time.perf_counter()
    default = [solve(*a, **kw) for a, kw, _ in sample]
    per_call_ms = (time.perf_counter() - t0) / len(sample) * 1e3
    larger = [_larger_sample(m, 10) for m in models]
    resampled = [
        solve(*a[:4], MarketView(larger[run], a[4].rivals, a[4].own), *a[5:], **kw)
        for a, kw, run in sample
    ]
    search = _errors(default, reference)
    sampling = _errors(default, resampled)
    figures = {
        "valuations": len(sample),
        "error_frac_median": float(np.median(search)),
        "error_frac_p90": float(np.percentile(search, 90)),
        "error_frac_max": float(search.max()),
        "per_call_ms": per_call_ms,
        "sampling_customers": int(larger[0].segment.shape[0]),
        "sampling_error_frac_median": float(np.median(sampling)),
        "sampling_error_frac_p90": float(np.percentile(sampling, 90)),
        "sampling_error_frac_max": float(sampling.max()),
        "same_best_now_frac": float(
            np.mean(
                [
                    np.argmax(np.atleast_2d(d)[0]) == np.argmax(np.atleast_2d(r)[0])
                    for d, r in zip(default, resampled, strict=True)
                ]
            )
        ),
    }
    report("valuation_accuracy", figures)


def _errors(values: list, reference: list):
    """Per call: the largest difference as a fraction of the reference's largest value."""
    import numpy as np

    return np.array(
        [
            np.abs(v - r).max() / np.abs(r).max()
            for v, r in zip(values, reference, strict=True)
            if np.abs(r).max() > 0
        ]
    )


def _larger_sample(model, factor: int):
    """The run's valuation sample, drawn the same way from its population but ``factor``
    times larger."""
    from aimarket.sim.projects import customer_sample

    size = factor * model.params.strategy.valuation_customers
    return customer_sample(model, model.customers.stratified_columns(size))


if __name__ == "__main__":
    main()
