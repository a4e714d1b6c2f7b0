"""``run_one``: a whole run from a small, picklable spec. No file I/O.

The same call runs in a test, a local process pool or a Dask worker.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import polars as pl

from aimarket.sim.params import ModelParams
from aimarket.sim.record import to_table

__all__ = [
    "RunResult",
    "RunSpec",
    "leader_overtakes_month",
    "numerics",
    "run_one",
    "summarise",
]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: a design point, a replicate and its seed.

    ``SeedSequence(seed_entropy, spawn_key=spawn_key)`` is the run's seed; replicate ``r``
    of every point uses ``spawn_key=(r,)`` (common random numbers across points).
    """

    run_id: str
    point_id: int
    replicate: int
    params: ModelParams
    seed_entropy: int
    spawn_key: tuple[int, ...]
    horizon_months: int = 120
    start_month: str = "2025-01"

    @property
    def seed(self) -> np.random.SeedSequence:
        """The run's ``SeedSequence``."""
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.spawn_key)


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished (or failed) run and its tables, keyed by table name."""

    run_id: str
    status: str
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    wall_s: float = 0.0
    error: str | None = None


def run_one(spec: RunSpec) -> RunResult:
    """Run one spec to its horizon and return its tables.

    A run that raises returns ``status="failed"`` with the traceback in ``error`` and only
    its ``runs`` row, so one bad point never stops a sweep.
    """
    import mesa  # the model and mesa load in workers only

    from aimarket.sim.model import MarketModel

    t0 = time.perf_counter()
    model: MarketModel | None = None
    try:
        model = MarketModel(
            spec.params,
            seed=spec.seed,
            horizon_months=spec.horizon_months,
            start_month=spec.start_month,
            run_id=spec.run_id,
        )
        model.run_model()
        tables = model.tables()
        tables["summary"] = summarise(spec.run_id, tables)
        status, error = "done", None
    except Exception:
        tables, status, error = {}, "failed", traceback.format_exc()
    finally:
        # mesa keeps a class-level id counter per model instance: drop it, or every run
        # of a long sweep stays in memory.
        if model is not None:
            mesa.Agent._ids.pop(model, None)
    wall_s = time.perf_counter() - t0
    tables["runs"] = to_table(
        "runs",
        spec.run_id,
        {
            "point_id": [spec.point_id],
            "replicate": [spec.replicate],
            "seed_entropy": [spec.seed_entropy],
            "spawn_key": [list(spec.spawn_key)],
            "status": [status],
            "months": [model.month if model is not None else 0],
            "wall_s": [wall_s],
            "error": [error],
            "numerics": [numerics()],
        },
    )
    return RunResult(spec.run_id, status, tables, wall_s, error)


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


@cache
def numerics() -> str:
    """What this process computes with, as far as it changes a run's numbers: numpy's
    version and widest SIMD target in use, and OpenBLAS's kernels (``auto``: chosen by the
    CPU) and, unless it is one, its thread count (a product split across threads sums in
    another order), e.g. ``"numpy 2.4.6 X86_V3, OpenBLAS Haswell"``.

    Runs that record the same string give the same tables for the same spec; see
    ``experiments.numerics`` for how the ``aimarket`` command fixes both.
    """
    try:
        from numpy._core._multiarray_umath import (
            __cpu_baseline__,
            __cpu_dispatch__,
            __cpu_features__,
        )

        used = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
        level = used[-1] if used else (__cpu_baseline__[-1] if __cpu_baseline__ else "none")
    except ImportError:  # numpy's private module moved
        level = "unknown"
    blas = os.environ.get("OPENBLAS_CORETYPE") or "auto"
    # OpenBLAS reads its thread count from these, in this order, when it loads
    threads = next((os.environ[v] for v in _BLAS_THREADS if os.environ.get(v)), None)
    on = "" if threads == "1" else f" on {threads} threads" if threads else " on a thread per core"
    return f"numpy {np.__version__} {level}, OpenBLAS {blas}{on}"


def summarise(run_id: str, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The ``summary`` row of one run, from its market, firms and events tables.

    Eager series operations throughout: a run's tables are small, and a lazy query per
    filter would cost more than the arithmetic.
    """
    market, firms, events = tables["market"], tables["firms"], tables["events"]
    models = tables["models"]
    month = market["month"]
    last_month = month.max() if market.height else None
    firm_month, business_model = firms["month"], firms["business_model"]
    final = (
        firm_month == last_month
        if last_month is not None
        else pl.repeat(True, firms.height, eager=True)
    )
    survivors = {
        bm: int((final & (business_model == bm)).sum())
        for bm in ("upfront_heavy", "inference_heavy", "specialist", "wrapper")
    }
    overtakes = month.filter(
        market["cumulative_inference_usd"] >= market["cumulative_training_usd"]
    )
    # From month 12 on: first prices are cost-plus placeholders until demand is observed.
    price = market["price_usd_per_mtok_at_reference"]
    priced = price.is_not_null() & (month >= 12)
    ref, ref_month = price.filter(priced), month.filter(priced)
    decline = None
    if ref.len() >= 6 and ref_month[-1] > ref_month[0] and ref.min() > 0:
        # Factor per year of a least-squares log-linear trend: month-to-month the cheapest
        # offering above the reference changes, so endpoints alone are noisy.
        slope = np.polyfit(ref_month.to_numpy(), np.log(ref.to_numpy()), 1)[0]
        decline = float(np.exp(-12.0 * slope))
    last = market.row(-1, named=True) if market.height else {}
    last_year = firm_month > (last_month or 0) - 12
    aware = models["model_id"].filter(models["allocation"] == "inference_aware")
    specialist = business_model == "specialist"
    offers = tables["offers"]
    small = models["model_id"].filter(
        (models["role"] == "distilled") | (models["business_model"] == "specialist")
    )
    offer_last_year = offers["month"] > (last_month or 0) - 12
    kinds = events["kind"]
    row = {
        "months": market.height,
        "hhi_revenue_final": last.get("hhi_revenue", 0.0),
        "hhi_revenue_mean": float(market["hhi_revenue"].mean() or 0.0),
        "hhi_developer_revenue_mean": float(market["hhi_developer_revenue"].mean() or 0.0),
        "models_on_sale_mean": float(market["models_on_sale"].mean() or 0.0),
        "cr4_final": last.get("cr4", 0.0),
        "gross_margin_mean": market["gross_margin"].mean(),
        "operating_margin_mean": market["operating_margin"].mean(),
        "entries": int((kinds == "entry").sum()),
        "exits": int((kinds == "exit").sum()),
        "firms_active_final": last.get("firms_active", 0),
        **{f"survivors_{bm}": n for bm, n in survivors.items()},
        "inference_overtakes_training_month": overtakes.min() if overtakes.len() else None,
        "leader_inference_overtakes_training_month": leader_overtakes_month(firms),
        "frontier_kappa_final": last.get("frontier_kappa"),
        "price_usd_per_mtok_at_reference_first": ref[0] if ref.len() else None,
        "price_usd_per_mtok_at_reference_final": ref[-1] if ref.len() else None,
        "price_at_reference_decline_per_year": decline,
        "consumer_surplus_usd_mean": float(market["consumer_surplus_usd"].mean() or 0.0),
        "revenue_usd_final": last.get("revenue_usd", 0.0),
        "subscribers_unprofitable_frac_mean": market["subscribers_unprofitable_frac"].mean(),
        "specialist_query_share_last_year": _share(firms["queries"], last_year, specialist),
        "distilled_query_share_last_year": _share(
            offers["queries"], offer_last_year, offers["model_id"].is_in(small.implode())
        ),
        "wrapper_revenue_share_last_year": _share(
            firms["customer_revenue_usd"], last_year, business_model == "wrapper"
        ),
        "inference_aware_revenue_share_last_year": _share(
            offers["revenue_usd"], offer_last_year, offers["model_id"].is_in(aware.implode())
        ),
    }
    return to_table("summary", run_id, {k: [v] for k, v in row.items()})


def leader_overtakes_month(firms: pl.DataFrame) -> int | None:
    """The month the leading firm's cumulative serving cost reaches its cumulative training
    spend, once it has trained (None: it never does, or never trained in the run).

    The leader is the firm with the most revenue over the run (the open-weights fringe is
    not a firm). Epoch AI's estimate that the leading lab spends more on serving than on
    training by 2024 (shared/anchors.md) is about this firm, not the market.

    Examples
    --------
    >>> firms = pl.DataFrame({"firm_id": [1, 1, 1, 2, 2, 2], "month": [0, 1, 2, 0, 1, 2],
    ...     "kind": ["lab"] * 6, "revenue_usd": [5.0, 5, 5, 1, 1, 1],
    ...     "training_spend_usd": [10.0, 0, 0, 0, 0, 0],
    ...     "serving_cost_usd": [1.0, 4, 6, 9, 9, 9]})
    >>> leader_overtakes_month(firms)
    2
    """
    firms = firms.filter(pl.col("kind") != "open_weights")
    if not firms.height:
        return None
    totals = firms.group_by("firm_id").agg(pl.col("revenue_usd").sum()).sort("firm_id")
    leader = totals.sort("revenue_usd", descending=True, maintain_order=True)["firm_id"][0]
    rows = firms.filter(pl.col("firm_id") == leader).sort("month")
    trained = rows["training_spend_usd"].cum_sum()
    served = rows["serving_cost_usd"].cum_sum()
    crossed = rows["month"].filter((trained > 0) & (served >= trained))
    return int(crossed[0]) if crossed.len() else None


def _share(column: pl.Series, rows: pl.Series, where: pl.Series) -> float | None:
    """Share of ``column``'s total over ``rows`` in the rows also matching ``where`` (None
    when that total is 0)."""
    values = column.filter(rows)
    total = float(values.sum()) if values.len() else 0.0
    if total <= 0:
        return None
    return min(max(float(values.filter(where.filter(rows)).sum()) / total, 0.0), 1.0)
