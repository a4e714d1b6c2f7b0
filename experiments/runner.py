"""Run an experiment's runs into a store.

``plan_runs`` turns a config into run specs; ``run_into_store`` executes them and writes
the store. ``aimarket run`` runs the base point of a config (its ``[model]`` table) for
every replication.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from experiments.config import ConfigError, ExperimentConfig
from experiments.store import Store
from sim.run import RunResult, RunSpec, run_one

__all__ = ["RunReport", "base_point_specs", "check_out_dir", "run_id_for", "run_into_store"]


def run_id_for(point_id: int, replicate: int) -> str:
    """Deterministic run id of a point's replicate.

    Examples
    --------
    >>> run_id_for(12, 3)
    'p000012-r0003'
    """
    return f"p{point_id:06d}-r{replicate:04d}"


def base_point_specs(config: ExperimentConfig) -> list[RunSpec]:
    """One spec per replication of the config's base point (point 0)."""
    exp = config.experiment
    return [
        RunSpec(
            run_id=run_id_for(0, r),
            point_id=0,
            replicate=r,
            params=config.model,
            seed_entropy=exp.seed,
            spawn_key=(r,),
            horizon_months=exp.horizon_months,
            start_month=exp.start,
        )
        for r in range(exp.replications)
    ]


@dataclass
class RunReport:
    """What a finished execution did."""

    out: Path
    runs: int
    failed: int
    wall_s: float
    summaries: list[dict[str, float | int | str | None]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty directory that is not a store."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a directory")
    if out.is_dir() and any(out.iterdir()) and not Store.is_store(out):
        raise ConfigError(
            f"--out {out}: is a non-empty directory that is not an aimarket store; "
            "expected a new or empty directory"
        )


def run_into_store(
    specs: list[RunSpec],
    out: Path,
    *,
    manifest: dict,
    on_result: Callable[[RunResult], None] | None = None,
    results: Callable[[list[RunSpec]], Iterator[RunResult]] | None = None,
) -> RunReport:
    """Execute ``specs`` and write a complete new store at ``out``, atomically.

    The store is built in a hidden sibling directory and renamed over ``out`` at the end, so
    an interrupted run leaves ``out`` as it was; an existing store at ``out`` is replaced.
    """
    check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    report = RunReport(out=out, runs=0, failed=0, wall_s=0.0)
    try:
        points = pl.DataFrame({"point_id": [0]}, schema={"point_id": pl.Int64})
        store = Store.create(tmp, manifest, points)
        execute = results or (lambda s: map(run_one, s))
        with store.writer() as writer:
            for result in execute(specs):
                writer.add(result)
                report.runs += 1
                if result.status == "done":
                    report.summaries.append(result.summary)
                else:
                    report.failed += 1
                    report.errors.append((result.run_id, result.error or ""))
                if on_result is not None:
                    on_result(result)
        shutil.rmtree(tmp / ".tmp", ignore_errors=True)
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.wall_s = time.perf_counter() - t0
    return report


def _replace_dir(new: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        out.rename(old)
        new.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(out)
