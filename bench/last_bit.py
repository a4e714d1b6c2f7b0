"""How many baseline runs take another path when every price moves by its last bit.

A speedup that computes the same numbers in another order, or with other ``exp`` and
``log`` code (compiled loops, another BLAS), rounds differently in the last bit. This
script measures what such a difference does to a run: each replicate of the shipped
baseline runs twice, once as shipped and once with every price the firms set nudged to
the next float64 up (``numpy.nextafter``, a relative change of about 1e-16), and the two
runs' paths are compared: their events (entry, launches, funding, exit; months, firms and
kinds, without amounts) and the market's monthly queries to six significant figures.

A run whose path changes will give other tables, so a change of rounding anywhere in the
month is a change of every figure computed from the runs (the calibration's posterior,
the docs' tables), not of their last digits.

Usage: ``python bench/last_bit.py [--replications N]``. Prints the figures and writes them
to ``bench/results/last_bit.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import hashlib

from _common import report
from single_run import CONFIG


def path_digest(tables: dict) -> tuple[str, int]:
    """A digest of a run's path, and its number of events."""
    import polars as pl

    events = tables["events"]
    discrete = events.select([c for c in events.columns if events[c].dtype != pl.Float64])
    queries = tables["market"].select("month", pl.col("queries").round_sig_figs(6))
    h = hashlib.sha256()
    for frame in (discrete, queries):
        h.update(frame.write_ipc(None).getvalue())
    return h.hexdigest(), events.height


def main() -> None:
    import numpy as np

    import aimarket.sim.processes as processes
    from aimarket.experiments.config import load_config
    from aimarket.experiments.runner import base_point_specs
    from aimarket.sim.run import run_one

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=6)
    args = parser.parse_args()
    config = load_config(CONFIG, [f"experiment.replications={args.replications}"])
    specs = base_point_specs(config)
    shipped = [path_digest(run_one(spec).tables) for spec in specs]
    set_prices = processes.set_prices

    def nudged(model):  # the firms' prices, each one float64 step up
        offers = set_prices(model)
        np.nextafter(offers.price_usd, np.inf, out=offers.price_usd)
        return offers

    processes.set_prices = nudged
    try:
        moved = [path_digest(run_one(spec).tables) for spec in specs]
    finally:
        processes.set_prices = set_prices
    changed = [a[0] != b[0] for a, b in zip(shipped, moved, strict=True)]
    report(
        "last_bit",
        {
            "config": "experiments/configs/baseline.toml",
            "replications": len(specs),
            "runs_with_another_path": sum(changed),
            "events_shipped": " ".join(str(n) for _, n in shipped),
            "events_nudged": " ".join(str(n) for _, n in moved),
        },
    )


if __name__ == "__main__":
    main()
