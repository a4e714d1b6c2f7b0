"""Throughput of ``aimarket calibrate``'s ABC-SMC against a plain sweep of the same runs.

A short calibration of the shipped backtest (``experiments/configs/backtest_2020.toml``,
its priors and targets; by default 30 particles, 2 generations) on a local pool of 2
workers, then a sweep of as many runs of the backtest's base point on the same pool. The
ratio of the two rates is what the ABC machinery costs on top of the runs themselves
(pickling pyabc's sampling function for every evaluation, seeding, polling, the SQLite
history, the generations' bookkeeping and the tail of each generation, when fewer
evaluations than workers are left). The shipped calibration's own wall time (about 41
minutes for 4,994 runs) is in docs/backtest.md.

Usage: ``python bench/calibration.py [--particles N] [--populations N] [--workers N]``.
Prints the figures and writes them to ``bench/results/calibration.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl
from _common import report

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "configs" / "backtest_2020.toml"
TARGETS = ROOT / "experiments" / "targets" / "history.toml"


def main() -> None:
    from aimarket.experiments.abc import in_sample, run_abc
    from aimarket.experiments.calibrate import submitter
    from aimarket.experiments.config import load_config
    from aimarket.experiments.manifest import build_manifest
    from aimarket.experiments.outputs import open_store
    from aimarket.experiments.runner import base_point_specs
    from aimarket.experiments.sweep import execute
    from aimarket.experiments.targets import load_targets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=30)
    parser.add_argument("--populations", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = load_config(
        CONFIG,
        [
            f"calibration.particles={args.particles}",
            f"calibration.populations={args.populations}",
            "calibration.max_simulations=100000",
        ],
    )
    targets = in_sample(load_targets(TARGETS))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with submitter(workers=args.workers) as (submit, in_flight, _):
            history = run_abc(
                config, targets, Path(tmp) / "abc.db", submit=submit, in_flight=in_flight
            )
        abc_s = time.perf_counter() - t0
        runs, generations = int(history.total_nr_simulations), int(history.max_t + 1)
        plain = load_config(CONFIG, [f"experiment.replications={runs}"])
        store = open_store(
            Path(tmp) / "sweep",
            manifest=build_manifest(plain, command="sweep", config_path=str(CONFIG)),
            points=pl.DataFrame({"point_id": [0]}, schema={"point_id": pl.Int64}),
            resume=False,
            shard=None,
        )
        specs = base_point_specs(plain)
        t0 = time.perf_counter()
        execute(specs, store, workers=args.workers)
        sweep_s = time.perf_counter() - t0
    report(
        "calibration",
        {
            "config": str(CONFIG.relative_to(ROOT)),
            "particles": args.particles,
            "generations": generations,
            "workers": args.workers,
            "runs": runs,
            "calibration_wall_s": abc_s,
            "calibration_runs_per_s": runs / abc_s,
            "sweep_wall_s": sweep_s,
            "sweep_runs_per_s": runs / sweep_s,
            "calibration_over_sweep_time": abc_s / sweep_s,
        },
    )


if __name__ == "__main__":
    main()
