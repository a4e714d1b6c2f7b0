"""Accuracy and cost of the price search inside firms' project valuations.

Records every call of ``agents.strategy.monthly_profit_usd`` in baseline runs, then
re-values a sample of them with the default search and with a reference search (400
starting prices, 10 steps), and prints the error of the default as a fraction of each
call's largest candidate value (median, 90th percentile, worst), with the time per call.

Usage: ``python bench/valuation_accuracy.py [--runs N] [--every K]``. Writes
``bench/results/valuation_accuracy.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "baseline.toml"


def main() -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy as np
    from _common import report

    import agents.strategy as strategy
    from experiments.config import load_config
    from experiments.runner import base_point_specs
    from sim.run import run_one

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="baseline replications to record")
    parser.add_argument("--every", type=int, default=6, help="keep every k-th valuation")
    args = parser.parse_args()

    calls = []
    solve = strategy.monthly_profit_usd

    def record(*a, **kw):
        calls.append((a, kw))
        return solve(*a, **kw)

    strategy.monthly_profit_usd = record
    try:
        config = load_config(CONFIG)
        for spec in base_point_specs(config)[: args.runs]:
            run_one(spec)
    finally:
        strategy.monthly_profit_usd = solve
    sample = calls[:: args.every]
    reference = [solve(*a, **{**kw, "start_prices": 400, "iterations": 10}) for a, kw in sample]
    t0 = time.perf_counter()
    default = [solve(*a, **kw) for a, kw in sample]
    per_call_ms = (time.perf_counter() - t0) / len(sample) * 1e3
    errors = np.array(
        [
            np.abs(d - r).max() / np.abs(r).max()
            for d, r in zip(default, reference, strict=True)
            if np.abs(r).max() > 0
        ]
    )
    figures = {
        "valuations": len(sample),
        "error_frac_median": float(np.median(errors)),
        "error_frac_p90": float(np.percentile(errors, 90)),
        "error_frac_max": float(errors.max()),
        "per_call_ms": per_call_ms,
    }
    report("valuation_accuracy", figures)


if __name__ == "__main__":
    main()
