"""Wall time and peak memory of one baseline run (120 months, the shipped baseline config).

Measured on one core: the process is pinned to one CPU and BLAS to one thread.

This machine's speed drifts by tens of percent within minutes (docs/benchmarks.md), so
each run is preceded by a fixed reference workload, the bare numpy logit-choice kernel of
``bench/customer_scaling.py`` at the baseline's size (10,000 customers x 14 offerings x
120 months). Its median and the ratio of the two medians are reported with the run's:
the ratio compares code measured at different times; the wall time is what a user waits.
That ratio is the issue's fixed yardstick (14 offerings was the baseline's size when it
was set; product lines have since multiplied what is on sale). After the timed runs the
same kernel is also timed at the run's own size, the mean number of offerings a customer
chooses among (what its segment is sold, weighted by customers, as
``bench/customer_scaling.py`` measures it): ``run_over_reference_at_run_size`` compares the
run with the bare kernel making as many customer-offering choices, i.e. the code's overhead
over the choice itself.

Usage: ``python bench/single_run.py [--repeats N] [--set KEY=VALUE ...]``. Prints the
figures and writes them to ``bench/results/single_run.json`` (and appends to its history);
``--set`` overrides a key of the baseline config, as ``aimarket run --set`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from _common import peak_rss_mib, report
from customer_scaling import child_kernel, choice_sets

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "baseline.toml"

#: The run's phases as ``name: (owner, attribute)``: the function each phase's time is
#: spent in, patched on its owner (the module or class its caller looks it up on).
PHASES = {
    "choice": ("aimarket.agents.customers:CustomerPopulation", "choose"),
    "clearing": ("aimarket.sim.processes", "clear_market"),  # includes the choice
    "capacity": ("aimarket.sim.processes", "book_capacity"),
    "pricing": ("aimarket.sim.processes", "set_prices"),
    "reviews": ("aimarket.agents.firms:Firm", "review"),
    "reach": ("aimarket.agents.firms:Firm", "choose_reach"),
    "release": ("aimarket.agents.firms:Firm", "choose_release"),
    "entry": ("aimarket.sim.processes", "choose_entry"),
    "recording": ("aimarket.sim.processes", "observe"),
    "learning": ("aimarket.agents.customers:CustomerPopulation", "learn"),
}


@contextlib.contextmanager
def phase_times() -> Iterator[dict[str, float]]:
    """Seconds spent in each of :data:`PHASES` by the runs inside the block (a phase's
    time includes what it calls: ``clearing`` includes ``choice``)."""
    import importlib

    seconds = dict.fromkeys(PHASES, 0.0)
    patched = []
    for name, (where, attr) in PHASES.items():
        module, _, cls = where.partition(":")
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        original = getattr(owner, attr)

        def timed(*args, _f=original, _name=name, **kwargs):
            t0 = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                seconds[_name] += time.perf_counter() - t0

        setattr(owner, attr, timed)
        patched.append((owner, attr, original))
    try:
        yield seconds
    finally:
        for owner, attr, original in patched:
            setattr(owner, attr, original)


def main() -> None:
    # "On one core": one BLAS thread (set before numpy loads) and one CPU.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from aimarket.experiments.config import load_config
    from aimarket.experiments.runner import base_point_specs
    from aimarket.sim.run import run_one

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the baseline config, as `aimarket run --set` "
        "(e.g. model.demand.brand_utility=0, to time a run with a mechanism off)",
    )
    args = parser.parse_args()
    config = load_config(CONFIG, args.set)
    spec = base_point_specs(config)[0]
    run_one(spec)  # warm-up: imports and first-call costs
    walls, references = [], []
    for _ in range(args.repeats):
        references.append(
            child_kernel(config.model.customers, 14, config.experiment.horizon_months)["wall_s"]
        )
        t0 = time.perf_counter()
        result = run_one(spec)
        walls.append(time.perf_counter() - t0)
        assert result.status == "done", result.error
    tracemalloc.start()
    with choice_sets() as sizes:
        result = run_one(spec)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Where a run's time goes: one more run with each phase timed.
    with phase_times() as phases:
        t0 = time.perf_counter()
        run_one(spec)
        phased_wall = time.perf_counter() - t0
    # What the run's cost scales with (firms' decisions and offerings, not customers).
    market = result.tables["market"]
    offerings_mean = float(market["offerings"].mean())
    # The same kernel at the run's own size (the offerings a customer chooses among, i.e.
    # what its segment is sold): the run's overhead over the bare choice.
    run_size = round(statistics.mean(sizes))
    at_run_size = statistics.median(
        child_kernel(config.model.customers, run_size, config.experiment.horizon_months)["wall_s"]
        for _ in range(args.repeats)
    )
    figures = {
        "config": "experiments/configs/baseline.toml",
        "overrides": " ".join(args.set) or "none",
        "customers": config.model.customers,
        "labs": config.model.labs,
        "months": config.experiment.horizon_months,
        "repeats": args.repeats,
        "one_core": True,
        "wall_s_median": statistics.median(walls),
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "reference_kernel_s_median": statistics.median(references),
        "run_over_reference": statistics.median(walls) / statistics.median(references),
        "reference_at_run_size_offerings": run_size,
        "reference_at_run_size_s_median": at_run_size,
        "run_over_reference_at_run_size": statistics.median(walls) / at_run_size,
        "offerings_on_sale_mean": offerings_mean,
        "firms_active_mean": float(market["firms_active"].mean()),
        "phase_run_wall_s": phased_wall,
        **{f"phase_{name}_s": t for name, t in phases.items()},
        "phase_other_s": phased_wall - sum(t for n, t in phases.items() if n != "choice"),
        "run_peak_alloc_mib": traced_peak / 2**20,
        "process_peak_rss_mib": peak_rss_mib(),
    }
    report("single_run", figures, float_format=".3f")


if __name__ == "__main__":
    main()
