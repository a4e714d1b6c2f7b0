"""What ``aimarket run`` and ``aimarket sweep`` print when they finish: what ran, and the
headline figures per design point (or their spread over a large design's points)."""

from __future__ import annotations

import math

import polars as pl
from rich.console import Console
from rich.table import Table

from aimarket.experiments.runner import headline
from aimarket.experiments.store import TABLES, Store
from aimarket.experiments.sweep import SweepReport

__all__ = ["MAX_ROWS", "console", "fmt", "print_summary"]

#: Designs with more points than this are summarised by the spread over points.
MAX_ROWS = 8

_COLUMNS = (
    ("hhi_revenue_final", "HHI, final month", "{:,.0f}"),
    ("firms_active_final", "firms active, final", "{:.1f}"),
    ("gross_margin_final", "gross margin, final", "{:.1%}"),
)

#: What the margins are: a firm that launched on GPUs contracted ahead of its sales pays
#: for them all the same, and its business model's margin can be far below zero.
MARGIN_NOTE = (
    "gross margin: 1 - serving cost / revenue in the final month; serving cost counts the "
    "GPUs contracted (used or not) and rented; per business model, cost and revenue are "
    "summed over the point's runs first"
)


def console(stderr: bool = False) -> Console:
    """A console that wraps at the terminal's width, or not at all when piped or captured
    (a path or a table row is then never cut mid-way)."""
    found = Console(stderr=stderr)
    return found if found.is_terminal else Console(stderr=stderr, width=400)


def fmt(value: object, spec: str) -> str:
    """``spec.format(value)``, or ``n/a`` for a missing or non-finite number."""
    ok = isinstance(value, int | float) and math.isfinite(value)
    return spec.format(value) if ok else "n/a"


def print_summary(report: SweepReport, store: Store, console: Console) -> None:
    """Print what this invocation ran and the store's headline figures."""
    table = Table(title=f"aimarket: {report.out}", show_header=False)
    table.add_row("runs this time (failed)", f"{report.runs} ({report.failed})")
    if report.skipped:
        table.add_row("runs already done (skipped)", str(report.skipped))
    table.add_row("executor", f"{report.executor} x{report.workers}")
    table.add_row("wall time", f"{report.wall_s:.2f} s ({report.runs_per_s:.2f} runs/s)")
    console.print(table)
    figures = headline(store)
    if figures.height:
        console.print(_points_table(figures, _labels(store)))
        console.print(MARGIN_NOTE)
    console.print(f"tables: {report.out}/table=<{'|'.join(TABLES)}>/*.parquet")


def _labels(store: Store) -> dict[int, str]:
    points = store.points()
    varied = [c for c in points.columns if c != "point_id" and points[c].n_unique() > 1]
    return {
        int(row["point_id"]): ", ".join(f"{c}={row[c]}" for c in varied) or "base"
        for row in points.iter_rows(named=True)
    }


def _points_table(figures: pl.DataFrame, labels: dict[int, str]) -> Table:
    models = sorted(c for c in figures.columns if c.startswith("gross_margin_final_"))
    columns = [
        *_COLUMNS,
        *((c, f"gross margin, {c.removeprefix('gross_margin_final_')}", "{:.1%}") for c in models),
    ]
    if figures.height <= MAX_ROWS:
        table = Table(
            title="mean over each design point's runs",
            header_style="bold",
        )
        table.add_column("point")
        table.add_column("runs", justify="right")
        for _, name, _ in columns:
            table.add_column(name, justify="right")
        for row in figures.iter_rows(named=True):
            point = int(row["point_id"])
            table.add_row(
                f"{point}: {labels.get(point, '')}",
                str(row["runs"]),
                *(fmt(row[key], spec) for key, _, spec in columns),
            )
        return table
    table = Table(
        title=f"spread over {figures.height} design points (each: mean over its runs)",
        header_style="bold",
    )
    for head in ("figure", "min", "median", "max"):
        table.add_column(head, justify="left" if head == "figure" else "right")
    for key, name, spec in columns:
        values = figures[key].drop_nulls()
        stats = (values.min(), values.median(), values.max()) if values.len() else (None,) * 3
        table.add_row(name, *(fmt(v, spec) for v in stats))
    return table
