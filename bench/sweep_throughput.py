"""Sweep throughput at 1 and 2 workers, and the parent's peak memory at 100 and 1,000 runs.

Usage: ``python bench/sweep_throughput.py [--quick] [--repeats N]``. Prints the figures,
writes them to ``bench/results/sweep_throughput.json`` (and appends to its history) unless
``--quick``, and ends with ``RESULT parallel_efficiency=X parent_rss_ratio=Y``.

Every measurement runs in a fresh subprocess that drives the real code path
(``experiments.design.plan_runs`` -> ``experiments.sweep.open_store`` -> ``execute``) into
a store under a temporary directory, reports its own figures as one JSON line and deletes
the store. A fresh process per measurement matters for memory: ``ru_maxrss`` only ever
grows within a process, and ``RUSAGE_SELF`` does not count the pool's worker processes,
so the child's own peak RSS is exactly what the sweep's parent process held.

* Throughput: the shipped baseline model (20,000 customers, 120 months) on a grid of the
  three market regimes x replications. ``--workers 1`` runs serially in the parent (what
  ``execute(workers=1)`` does); 2 workers use the local spawn process pool. Parallel
  efficiency = rate(2 workers) / (2 x rate(1 worker)); pool start-up is included.
* Parent memory: small runs (500 customers, 24 months) with 2 workers, 100 and 1,000 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from _common import peak_rss_mib, save

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "configs" / "baseline.toml"
NAME = "sweep_throughput"
REGIMES = ["balanced", "upfront_heavy", "inference_heavy"]


def bench_config(
    *,
    replications: int,
    horizon_months: int,
    customers: int | None = None,
    labs: int | None = None,
    grid: dict[str, list[Any]] | None = None,
) -> Any:
    """The shipped baseline config with the benchmark's run size and design."""
    from experiments.config import validate_config

    raw = tomllib.loads(CONFIG.read_text())
    raw["experiment"].update(
        name="bench", replications=replications, horizon_months=horizon_months
    )
    if customers is not None:
        raw["model"]["customers"] = customers
    if labs is not None:
        raw["model"]["labs"] = labs
    if grid:
        raw["sweep"] = {"design": "grid", "grid": grid}
    return validate_config(raw, source=str(CONFIG))


def aimarket_sweep(job: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep through ``open_store`` + ``execute`` in this process; its figures.

    ``job`` holds ``bench_config`` keyword arguments and ``workers``. Call it in a fresh
    process: the peak RSS it reports is the process's whole life so far.
    """
    from experiments.design import plan_runs, points_frame
    from experiments.manifest import build_manifest
    from experiments.sweep import execute, open_store

    job = dict(job)
    workers = job.pop("workers")
    with tempfile.TemporaryDirectory(prefix="aimarket-bench-") as tmp:
        t0 = time.perf_counter()
        config = bench_config(**job)
        design, specs = plan_runs(config)
        manifest = build_manifest(config, command="sweep", config_path=str(CONFIG))
        manifest["design"] = {"kind": design.kind, "variables": list(design.variables)}
        store = open_store(
            Path(tmp) / "out",
            manifest=manifest,
            points=points_frame(design),
            resume=False,
            shard=None,
        )
        rss_before = peak_rss_mib()
        report = execute(specs, store, workers=workers)
        total_s = time.perf_counter() - t0
        rss_after = peak_rss_mib()
        committed = store.committed()
        run_wall = committed["wall_s"]
        parts = len(list(store.table_dir("market").glob("part-*.parquet")))
    return {
        "runs": report.runs,
        "failed": report.failed,
        "executor": report.executor,
        "workers": report.workers,
        "wall_s": report.wall_s,
        "total_s": total_s,
        "runs_per_s": report.runs_per_s,
        "run_wall_s_mean": float(run_wall.mean()),
        "run_wall_s_sum": float(run_wall.sum()),
        "parts_per_table": parts,
        "parent_rss_before_sweep_mib": rss_before,
        "parent_peak_rss_mib": rss_after,
        "workers_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def in_fresh_process(script: str, mode: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --child MODE JOB`` in a new interpreter; the JSON of its last line."""
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, script, "--child", mode, json.dumps(job)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{mode} {job}: child exited with {proc.returncode}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["load_avg_1m_before"] = load
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run; nothing saved")
    parser.add_argument("--repeats", type=int, default=2, help="throughput repeats (best kept)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(aimarket_sweep(json.loads(args.child[1]))))
        return

    quick = args.quick
    reps_per_point = 2 if quick else 12
    horizon = 24 if quick else 120
    memory_runs = (20, 200) if quick else (100, 1000)
    throughput_job = {
        "replications": reps_per_point,
        "horizon_months": horizon,
        "grid": {"market.regime": REGIMES},
    }
    n_runs = reps_per_point * len(REGIMES)
    print(
        f"throughput: {n_runs} runs = {len(REGIMES)} regimes x {reps_per_point} replications "
        f"of the baseline model (20,000 customers, 4 labs, {horizon} months)"
    )
    best: dict[int, dict[str, Any]] = {}
    for repeat in range(1 if quick else args.repeats):
        for workers in (1, 2):
            fig = in_fresh_process(__file__, "sweep", {**throughput_job, "workers": workers})
            assert fig["failed"] == 0 and fig["runs"] == n_runs, fig
            print(
                f"  repeat {repeat} workers={workers}: {fig['runs_per_s']:.3f} runs/s "
                f"(wall {fig['wall_s']:.1f} s, mean run {fig['run_wall_s_mean']:.3f} s, "
                f"load {fig['load_avg_1m_before']:.2f})"
            )
            if workers not in best or fig["runs_per_s"] > best[workers]["runs_per_s"]:
                best[workers] = fig
    rate1, rate2 = best[1]["runs_per_s"], best[2]["runs_per_s"]
    efficiency = rate2 / (2 * rate1)
    # what the pool costs beyond the runs themselves: wall time minus the runs' own time
    # shared over the workers (spawn + imports, batch tail, parent-side bookkeeping)
    pool_overhead_s = best[2]["wall_s"] - best[2]["run_wall_s_sum"] / 2
    run_slowdown = best[2]["run_wall_s_mean"] / best[1]["run_wall_s_mean"]

    memory_job = {"replications": 0, "horizon_months": 24, "customers": 500, "workers": 2}
    print(f"parent memory: 500 customers, 4 labs, 24 months, 2 workers; runs = {memory_runs}")
    mem: dict[int, dict[str, Any]] = {}
    for n in memory_runs:
        fig = in_fresh_process(__file__, "sweep", {**memory_job, "replications": n})
        assert fig["failed"] == 0 and fig["runs"] == n, fig
        mem[n] = fig
        print(
            f"  {n} runs: parent peak RSS {fig['parent_peak_rss_mib']:.1f} MiB "
            f"(before the sweep {fig['parent_rss_before_sweep_mib']:.1f} MiB), "
            f"{fig['runs_per_s']:.1f} runs/s, workers' peak RSS "
            f"{fig['workers_peak_rss_mib']:.1f} MiB"
        )
    small, large = memory_runs
    rss_ratio = mem[large]["parent_peak_rss_mib"] / mem[small]["parent_peak_rss_mib"]

    figures = {
        "throughput_model": (
            f"baseline.toml: 20,000 customers, 4 labs, {horizon} months; "
            f"grid market.regime x {reps_per_point} replications"
        ),
        "throughput_runs": n_runs,
        "throughput_repeats": 1 if quick else args.repeats,
        "runs_per_s_1_worker": rate1,
        "runs_per_s_2_workers": rate2,
        "wall_s_1_worker": best[1]["wall_s"],
        "wall_s_2_workers": best[2]["wall_s"],
        "run_wall_s_mean_1_worker": best[1]["run_wall_s_mean"],
        "run_wall_s_mean_2_workers": best[2]["run_wall_s_mean"],
        "run_slowdown_2_workers": run_slowdown,
        "pool_overhead_s": pool_overhead_s,
        "parallel_efficiency": efficiency,
        "memory_model": "500 customers, 4 labs, 24 months, 2 workers",
        "memory_runs": list(memory_runs),
        "parent_peak_rss_mib": {str(n): mem[n]["parent_peak_rss_mib"] for n in memory_runs},
        "parent_rss_before_sweep_mib": {
            str(n): mem[n]["parent_rss_before_sweep_mib"] for n in memory_runs
        },
        "workers_peak_rss_mib": {str(n): mem[n]["workers_peak_rss_mib"] for n in memory_runs},
        "memory_runs_per_s": {str(n): mem[n]["runs_per_s"] for n in memory_runs},
        "parts_per_table": {str(n): mem[n]["parts_per_table"] for n in memory_runs},
        "parent_rss_ratio": rss_ratio,
        "goals": {"parallel_efficiency": ">= 0.8", "parent_rss_ratio": "<= 1.2"},
    }
    print(f"runs/s: 1 worker {rate1:.3f}, 2 workers {rate2:.3f}")
    print(f"parallel efficiency: {efficiency:.3f} (goal >= 0.8)")
    print(
        f"  pool overhead {pool_overhead_s:.2f} s; "
        f"a run is {run_slowdown:.2f}x as long with 2 running at once"
    )
    print(f"parent peak RSS ratio {large}/{small} runs: {rss_ratio:.3f} (goal <= 1.2)")
    if quick:
        print("--quick: figures not saved")
    else:
        print(f"wrote {save(NAME, figures)}")
    print(f"RESULT parallel_efficiency={efficiency:.3f} parent_rss_ratio={rss_ratio:.3f}")


if __name__ == "__main__":
    main()
