"""Wall time and peak memory of one baseline run (120 months, the shipped baseline config).

Measured on one core: the process is pinned to one CPU and BLAS to one thread.

Usage: ``python bench/single_run.py [--repeats N]``. Prints the figures and writes them to
``bench/results/single_run.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from pathlib import Path

from _common import peak_rss_mib, report

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "baseline.toml"


def main() -> None:
    # "On one core": one BLAS thread (set before numpy loads) and one CPU.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from experiments.config import load_config
    from experiments.runner import base_point_specs
    from sim.run import run_one

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = load_config(CONFIG)
    spec = base_point_specs(config)[0]
    run_one(spec)  # warm-up: imports and first-call costs
    walls = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = run_one(spec)
        walls.append(time.perf_counter() - t0)
        assert result.status == "done", result.error
    tracemalloc.start()
    run_one(spec)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {
        "config": "experiments/configs/baseline.toml",
        "customers": config.model.customers,
        "labs": config.model.labs,
        "months": config.experiment.horizon_months,
        "repeats": args.repeats,
        "one_core": True,
        "wall_s_median": statistics.median(walls),
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "run_peak_alloc_mib": traced_peak / 2**20,
        "process_peak_rss_mib": peak_rss_mib(),
    }
    report("single_run", figures, float_format=".3f")


if __name__ == "__main__":
    main()
