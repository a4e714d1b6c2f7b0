"""The ``aimarket`` command.

``aimarket run CONFIG``: run a config's base point into a store and print a summary.
``aimarket econ ...``: the economics functions from the shell, JSON out.

Exit codes: 0 success; 1 some runs failed; 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from experiments import econ
from experiments.config import ConfigError, load_config
from experiments.manifest import build_manifest
from experiments.runner import RunReport, base_point_specs, run_into_store

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2 on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = _Parser(prog="aimarket", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a config's base point into a store")
    run.add_argument("config", type=Path, help="experiment config (TOML)")
    run.add_argument("--out", type=Path, help="output directory (default runs/<name>)")
    run.add_argument("--seed", type=int, help="override experiment.seed")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key by dotted path, e.g. model.labs=6 (repeatable)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    econ.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aimarket`` console script."""
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "run":
            return _run(args, console)
        return econ.run_parsed(args)
    except ConfigError as exc:
        print(f"aimarket: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aimarket: interrupted; nothing was written", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, console: Console) -> int:
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"experiment.seed={args.seed}")
    config = load_config(args.config, overrides)
    out = args.out if args.out is not None else Path("runs") / config.experiment.name
    if config.sweep is not None:
        console.print(
            "[yellow]note:[/] the config has a [sweep]; `aimarket run` runs its base point only"
        )
    specs = base_point_specs(config)
    manifest = build_manifest(config, command="run", config_path=str(args.config))
    with _progress(console, quiet=args.quiet) as progress:
        task = progress.add_task(config.experiment.name, total=len(specs))
        report = run_into_store(
            specs, out, manifest=manifest, on_result=lambda _: progress.advance(task)
        )
    _print_summary(report, Console())
    for run_id, error in report.errors[:3]:
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        console.print(f"[red]run {run_id} failed:[/] {last}")
    return 1 if report.failed else 0


def _progress(console: Console, *, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def _print_summary(report: RunReport, console: Console) -> None:
    table = Table(title=f"aimarket: {report.out}", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("mean over runs", justify="right")
    summaries = pl.DataFrame(report.summaries) if report.summaries else pl.DataFrame()
    rows = [
        ("HHI of revenue, final month (0–10,000)", "hhi_revenue_final", "{:,.0f}"),
        ("firms active, final month", "firms_active_final", "{:.1f}"),
        ("gross margin, final month", "gross_margin_final", "{:.1%}"),
    ]
    rows += [
        (f"gross margin, {col.removeprefix('gross_margin_final_')}", col, "{:.1%}")
        for col in summaries.columns
        if col.startswith("gross_margin_final_")
    ]
    for label, col, fmt in rows:
        value = summaries[col].mean() if col in summaries.columns else None
        ok = isinstance(value, int | float) and math.isfinite(value)
        table.add_row(label, fmt.format(value) if ok else "n/a")
    table.add_row("runs (failed)", f"{report.runs} ({report.failed})")
    table.add_row("wall time", f"{report.wall_s:.2f} s")
    console.print(table)
    console.print(f"tables: {report.out}/table=<market|firms|runs>/*.parquet")


if __name__ == "__main__":
    raise SystemExit(main())
