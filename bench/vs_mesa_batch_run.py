"""aimarket's sweep machinery against ``mesa.batch_run`` on the same model and the same runs.

Usage: ``python bench/vs_mesa_batch_run.py [--quick]``. Prints the figures, writes them to
``bench/results/vs_mesa_batch_run.json`` (and appends to its history) unless ``--quick``,
and ends with ``RESULT throughput_ratio=X memory_ratio=Y`` (both at the larger run count).
``--horizon-months`` sets the runs' length (default 6; 24 takes ~9 minutes).

Both sides run the same ``MarketModel`` runs (the shipped baseline config with 300
customers, 3 labs, 24 months; replicate ``r`` seeded with ``SeedSequence(seed,
spawn_key=(r,))``) on 2 worker processes and collect the same monthly rows:

* aimarket: ``plan_runs`` -> ``open_store`` -> ``execute(workers=2)``; workers write the
  run's tables to parquet and return one small status per run. Measured by
  ``sweep_throughput.py``'s child process, which imports only what that path needs.
* mesa 3.3: ``batch_run(BatchRunMarket, parameters=..., number_processes=2,
  data_collection_period=1, max_steps=24)``. ``BatchRunMarket`` is ``MarketModel`` plus a
  ``DataCollector`` whose model reporters are the market table's columns and whose agent
  reporters are the firms table's columns, read from the month's rows in the model's
  recorder. batch_run returns every row to the parent as a dict (one per run x month x
  firm, carrying the month's market values and the run's parameters, as batch_run does).

Before timing, the script checks on two runs that batch_run's rows equal aimarket's market
and firms tables value for value. Each timed sweep then runs in a fresh subprocess that
reports its own wall time and peak RSS (``VmHWM``: the sweep's parent only, not its
workers; a process's peak never decreases, hence a fresh one per figure).

``throughput_ratio`` = aimarket runs/s / batch_run runs/s; ``memory_ratio`` = aimarket
parent peak RSS / batch_run parent peak RSS. Goals at 1,000 runs: >= 1.0 and <= 0.5.
"""

from __future__ import annotations

import _common  # noqa: F401  (pins numpy's SIMD code; must load before numpy)

# isort: split
import argparse
import functools
import json
import math
import time
from typing import Any

import mesa
import numpy as np
import sweep_throughput
from _common import save
from sweep_throughput import (
    ChildrenPeakRss,
    bench_config,
    in_fresh_process,
    own_peak_rss_mib,
    require_done,
)

from aimarket.experiments.runner import run_id_for
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams
from aimarket.sim.schemas import polars_schema

NAME = "vs_mesa_batch_run"
CUSTOMERS, LABS, WORKERS = 300, 3, 2
#: Months per run unless --horizon-months says otherwise (each run is one model step a month).
HORIZON_MONTHS = 6

#: Columns of aimarket's market table that batch_run's model reporters collect.
MARKET_COLUMNS = tuple(
    c for c in polars_schema("market").names() if c not in ("run_id", "month", "date")
)
#: batch_run merges model and agent values into one dict per row, so a firm column named
#: like a market column (queries, revenue_usd, ...) would overwrite it: firm reporters are
#: named ``firm_<column>``.
FIRM_PREFIX = "firm_"
#: Columns of aimarket's firms table that batch_run's agent reporters collect.
FIRM_COLUMNS = tuple(
    c for c in polars_schema("firms").names() if c not in ("run_id", "month", "date", "firm_id")
)


@functools.cache
def bench_params(customers: int, labs: int) -> tuple[ModelParams, int]:
    """``[model]`` and ``experiment.seed`` of the config aimarket's side runs."""
    config = bench_config(replications=1, horizon_months=1, customers=customers, labs=labs)
    return config.model, config.experiment.seed


class MonthCollector(mesa.DataCollector):
    """mesa's DataCollector with aimarket's row keys: one record per month and offering firm.

    mesa keys agent records by ``model.steps``, which is already 1 when month 0 has been
    collected, while batch_run reads model values by list position (0 for month 0) and
    agent records by the same number: without re-keying, batch_run pairs month m's market
    values with month m-1's firms and drops the last month's firms. Only firms that offered
    in the month get a row (aimarket's firms table), not the customer population agent.
    """

    def _record_agents(self, model: BatchRunMarket) -> list[tuple[Any, ...]]:
        reporters = tuple(self.agent_reporters.values())
        by_id = {firm.unique_id: firm for firm in model.firms}
        return [
            (model.steps, firm_id, *(report(by_id[firm_id]) for report in reporters))
            for firm_id in model.month_firms
        ]

    def collect(self, model: BatchRunMarket) -> None:
        super().collect(model)
        self._agent_records[model.steps - 1] = self._agent_records.pop(model.steps)


def _market_reporter(column: str) -> Any:
    return lambda model: model.month_market[column]


def _firm_reporter(column: str) -> Any:
    return lambda firm: firm.model.month_firms[firm.unique_id][column]


class BatchRunMarket(MarketModel):
    """``MarketModel`` built from scalar keyword arguments, with a mesa ``DataCollector``.

    The parameters are the benchmark config's ``[model]`` with ``customers`` and ``labs``
    set, and the seed is ``SeedSequence(seed_entropy, spawn_key=(replicate,))``: exactly
    the ``RunSpec`` aimarket plans for replicate ``replicate``.
    """

    def __init__(
        self,
        *,
        customers: int,
        labs: int,
        horizon_months: int,
        seed_entropy: int,
        replicate: int,
        start_month: str = "2025-01",
    ) -> None:
        params, _ = bench_params(customers, labs)
        super().__init__(
            params,
            seed=np.random.SeedSequence(seed_entropy, spawn_key=(replicate,)),
            horizon_months=horizon_months,
            start_month=start_month,
            run_id=run_id_for(0, replicate),
        )
        self.month_market: dict[str, Any] = {}
        self.month_firms: dict[int, dict[str, Any]] = {}
        self.datacollector = MonthCollector(
            model_reporters={c: _market_reporter(c) for c in MARKET_COLUMNS},
            agent_reporters={FIRM_PREFIX + c: _firm_reporter(c) for c in FIRM_COLUMNS},
        )

    def step(self) -> None:
        """One month, then collect its market row and firm rows (as the recorder has them)."""
        super().step()
        month = self.month - 1
        # the recorder's buffers are columns of lists; firm columns hold one chunk a month
        market = self.recorder._columns["market"]
        if not market["month"] or market["month"][-1] != month:
            raise RuntimeError(f"month {month}: the recorder has no market row")
        self.month_market = {c: market[c][-1] for c in MARKET_COLUMNS}
        firms = self.recorder._columns["firms"]
        self.month_firms = {}
        if firms["month"] and int(firms["month"][-1][0]) == month:
            chunk = {c: np.asarray(firms[c][-1]).tolist() for c in ("firm_id", *FIRM_COLUMNS)}
            for k, firm_id in enumerate(chunk["firm_id"]):
                self.month_firms[firm_id] = {c: chunk[c][k] for c in FIRM_COLUMNS}
        self.datacollector.collect(self)


def mesa_parameters(runs: int, horizon_months: int) -> dict[str, Any]:
    """batch_run's ``parameters``: one combination per replicate."""
    _, seed = bench_params(CUSTOMERS, LABS)
    return {
        "customers": CUSTOMERS,
        "labs": LABS,
        "horizon_months": horizon_months,
        "seed_entropy": seed,
        "replicate": range(runs),
    }


def mesa_sweep(runs: int, horizon_months: int, *, workers: int = WORKERS) -> dict[str, Any]:
    """Run ``runs`` runs through ``mesa.batch_run`` in this process; its figures."""
    t0 = time.perf_counter()
    rss_before = own_peak_rss_mib()
    with ChildrenPeakRss() as children:
        rows = mesa.batch_run(
            BatchRunMarket,
            parameters=mesa_parameters(runs, horizon_months),
            number_processes=workers,
            iterations=1,
            data_collection_period=1,
            max_steps=horizon_months,
            display_progress=False,
        )
    wall_s = time.perf_counter() - t0
    figures = {
        "runs": len({row["RunId"] for row in rows}),
        "rows": len(rows),
        "workers": workers,
        "wall_s": wall_s,
        "runs_per_s": runs / wall_s,
        "parent_rss_before_sweep_mib": rss_before,
        "parent_peak_rss_mib": own_peak_rss_mib(),
        "workers_peak_rss_mib": children.peak_mib,
    }
    # not part of the comparison: what a batch_run user does next (mesa's docs do this)
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.DataFrame(rows)
    figures["to_pandas_s"] = time.perf_counter() - t0
    figures["parent_peak_rss_with_pandas_frame_mib"] = own_peak_rss_mib()
    del rows, frame
    return figures


def aimarket_job(runs: int, horizon_months: int) -> dict[str, Any]:
    return {
        "replications": runs,
        "horizon_months": horizon_months,
        "customers": CUSTOMERS,
        "labs": LABS,
        "workers": WORKERS,
    }


def check_same_rows(horizon_months: int, runs: int = 2) -> int:
    """batch_run's rows equal aimarket's market and firms tables on ``runs`` runs.

    Returns the number of values compared; raises ``AssertionError`` on the first mismatch.
    """
    from aimarket.experiments.runner import base_point_specs
    from aimarket.sim.run import run_one

    config = bench_config(
        replications=runs, horizon_months=horizon_months, customers=CUSTOMERS, labs=LABS
    )
    assert config.model == bench_params(CUSTOMERS, LABS)[0]
    rows = mesa.batch_run(
        BatchRunMarket,
        parameters=mesa_parameters(runs, horizon_months),
        number_processes=1,
        data_collection_period=1,
        max_steps=horizon_months,
        display_progress=False,
    )

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            a = math.nan if a is None else a
            b = math.nan if b is None else b
            return a == b or (math.isnan(a) and math.isnan(b))
        return a == b

    compared = 0
    for spec in base_point_specs(config):
        tables = run_one(spec).tables
        mine = [row for row in rows if row["replicate"] == spec.replicate]
        markets = {row["Step"]: row for row in mine}
        assert sorted(markets) == tables["market"]["month"].to_list(), "months differ"
        for expected in tables["market"].iter_rows(named=True):
            got = markets[expected["month"]]
            for c in MARKET_COLUMNS:
                assert same(got[c], expected[c]), (spec.run_id, expected["month"], c)
                compared += 1
        firms = {(row["Step"], row["AgentID"]): row for row in mine}
        assert len(firms) == tables["firms"].height, "firm rows differ"
        for expected in tables["firms"].iter_rows(named=True):
            got = firms[(expected["month"], expected["firm_id"])]
            for c in FIRM_COLUMNS:
                assert same(got[FIRM_PREFIX + c], expected[c]), (spec.run_id, expected["month"], c)
                compared += 1
    return compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 200 runs; nothing saved")
    parser.add_argument("--horizon-months", type=int, default=HORIZON_MONTHS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, job = args.child[0], json.loads(args.child[1])
        if mode != "batch_run":
            raise SystemExit(f"unknown child mode {mode!r}")
        print(json.dumps(mesa_sweep(job["runs"], job["horizon_months"])))
        return

    horizon = args.horizon_months
    compared = check_same_rows(horizon)
    print(f"same rows: batch_run and aimarket agree on {compared} values of 2 runs")
    counts = (20, 200) if args.quick else (100, 1000)
    print(
        f"model: baseline.toml with {CUSTOMERS} customers, {LABS} labs, "
        f"{horizon} months; {WORKERS} worker processes each"
    )
    results: dict[str, dict[int, dict[str, Any]]] = {"aimarket": {}, "batch_run": {}}
    for n in counts:
        # aimarket's side runs as sweep_throughput.py's child: that process imports only
        # what `execute` needs (this script imports mesa and the model for batch_run)
        results["aimarket"][n] = in_fresh_process(
            sweep_throughput.__file__, "sweep", aimarket_job(n, horizon)
        )
        results["batch_run"][n] = in_fresh_process(
            __file__, "batch_run", {"runs": n, "horizon_months": horizon}
        )
        for tool, by_n in results.items():
            fig = by_n[n]
            require_done(fig, n, tool)
            print(
                f"  {n:>5} runs {tool:>9}: {fig['runs_per_s']:6.1f} runs/s "
                f"(wall {fig['wall_s']:5.1f} s), parent peak RSS "
                f"{fig['parent_peak_rss_mib']:6.1f} MiB (before the sweep "
                f"{fig['parent_rss_before_sweep_mib']:.1f}), workers' peak RSS "
                f"{fig['workers_peak_rss_mib']:.1f} MiB, other load {fig['other_load_during']:.0%}"
            )
    ratios = {
        n: {
            "throughput_ratio": results["aimarket"][n]["runs_per_s"]
            / results["batch_run"][n]["runs_per_s"],
            "memory_ratio": results["aimarket"][n]["parent_peak_rss_mib"]
            / results["batch_run"][n]["parent_peak_rss_mib"],
        }
        for n in counts
    }
    for n in counts:
        print(
            f"  {n:>5} runs: throughput ratio {ratios[n]['throughput_ratio']:.3f}, "
            f"memory ratio {ratios[n]['memory_ratio']:.3f}"
        )
    large = counts[-1]
    throughput_ratio = ratios[large]["throughput_ratio"]
    memory_ratio = ratios[large]["memory_ratio"]
    figures = {
        "model": f"baseline.toml, {CUSTOMERS} customers, {LABS} labs, {horizon} months",
        "workers": WORKERS,
        "runs": list(counts),
        "values_checked_equal": compared,
        "mesa_version": mesa.__version__,
        "aimarket": {str(n): results["aimarket"][n] for n in counts},
        "batch_run": {str(n): results["batch_run"][n] for n in counts},
        "ratios": {str(n): ratios[n] for n in counts},
        "throughput_ratio": throughput_ratio,
        "memory_ratio": memory_ratio,
        "goals": {"throughput_ratio": ">= 1.0", "memory_ratio": "<= 0.5"},
    }
    print(f"throughput ratio at {large} runs: {throughput_ratio:.3f} (goal >= 1.0)")
    print(f"memory ratio at {large} runs: {memory_ratio:.3f} (goal <= 0.5)")
    if args.quick:
        print("--quick: figures not saved")
    else:
        print(f"wrote {save(NAME, figures)}")
    print(f"RESULT throughput_ratio={throughput_ratio:.3f} memory_ratio={memory_ratio:.3f}")


if __name__ == "__main__":
    main()
