"""The analysis commands of ``aimarket``: ``analyze``, ``report`` and ``compare``."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from aimarket.experiments.cli_summary import console as _console
from aimarket.experiments.cli_summary import fmt as _fmt
from aimarket.experiments.config import ConfigError
from aimarket.experiments.store import Store

__all__ = ["COMMANDS", "HEADLINE_METRICS", "add_parsers", "comparison_table", "run_parsed"]

COMMANDS = ("analyze", "report", "compare")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze``, ``report`` and ``compare`` subcommands."""
    analyze = sub.add_parser(
        "analyze",
        help="replication statistics, paired differences, sensitivity, scenario discovery",
    )
    analyze.add_argument("out", type=Path)
    analyze.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        metavar="NAME",
        help="a summary (or --table market) column (repeatable; default: headline metrics)",
    )
    analyze.add_argument("--table", choices=("summary", "market"), default="summary")
    analyze.add_argument(
        "--how",
        choices=("final", "mean", "month"),
        default="final",
        help="market metrics: the final month, the mean over months, or --month",
    )
    analyze.add_argument("--month", type=int, help="with --how month: which month")
    mode = analyze.add_mutually_exclusive_group()
    mode.add_argument(
        "--paired",
        type=int,
        metavar="POINT",
        help="differences from this point, paired by replicate (common random numbers)",
    )
    mode.add_argument("--sensitivity", action="store_true", help="Sobol or Morris indices (SALib)")
    mode.add_argument(
        "--discover",
        metavar="CONDITION",
        help="PRIM scenario discovery, e.g. 'hhi_revenue_final > 2500'",
    )
    analyze.add_argument(
        "--threshold", type=float, default=0.8, help="--discover: box density to reach"
    )
    analyze.add_argument("--csv", type=Path, help="also write the table as CSV")
    analyze.add_argument("--parquet", type=Path, help="also write the table as parquet")

    report = sub.add_parser("report", help="write OUT/report.html (self-contained)")
    report.add_argument("out", type=Path)
    report.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        metavar="NAME",
        help="a summary column for the headline table (repeatable; default: headline metrics)",
    )
    report.add_argument(
        "--reference", type=int, default=0, metavar="POINT", help="compare points with this one"
    )

    compare = sub.add_parser("compare", help="a store's runs against observed targets")
    compare.add_argument("out", type=Path)
    compare.add_argument("targets", type=Path, help="targets file (TOML)")
    compare.add_argument("--point", type=int, help="only this design point")
    compare.add_argument("--csv", type=Path, help="also write the table as CSV")


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed analysis command; its exit code."""
    if args.command == "analyze":
        return _analyze(args)
    if args.command == "compare":
        return _compare(args)
    from aimarket.experiments.report import write_report  # matplotlib loads only here

    with Console(stderr=True).status("writing the report ..."):
        path = write_report(args.out, metrics=args.metrics, reference=args.reference)
    print(path)
    return 0


HEADLINE_METRICS = (
    "hhi_revenue_mean",
    "hhi_revenue_final",
    "gross_margin_mean",
    "operating_margin_mean",
    "firms_active_final",
    "entries",
    "exits",
)


def _analyze(args: argparse.Namespace) -> int:

    if not Store.is_store(args.out):
        raise ConfigError(f"out = {str(args.out)!r}: not an aimarket store; expected a --out dir")
    if args.month is not None and args.how != "month":
        raise ConfigError(
            f"--month {args.month}: used only with --how month (got --how {args.how})"
        )
    _check_output_files(args.csv, args.parquet)
    counts = _require_runs(args.out)
    if args.metrics:
        metrics = args.metrics
    elif args.table == "market":
        metrics = ["hhi_revenue", "gross_margin"]
    elif args.sensitivity or args.paired is not None:
        metrics = ["hhi_revenue_mean", "gross_margin_mean", "operating_margin_mean"]
    else:
        metrics = list(HEADLINE_METRICS)
    reduce = {"table": args.table, "how": args.how, "month": args.month}
    with _console(stderr=True).status("analysing ..."):
        stats, title = _analysis_table(args, metrics, reduce)
    if args.csv:
        stats.write_csv(args.csv)
    if args.parquet:
        stats.write_parquet(args.parquet)
    few = "small_n" in stats.columns and bool(stats["small_n"].any())
    stats = stats.drop("interval", "small_n", strict=False)
    table = Table(
        title=f"aimarket analyze: {args.out} ({title}; "
        f"{counts['done']} runs, {counts['failed']} failed left out)"
    )
    for col in stats.columns:
        table.add_column(col, justify="right" if stats.schema[col].is_numeric() else "left")
    for row in stats.iter_rows():
        table.add_row(*(_fmt(v, "{:.4g}") if isinstance(v, float) else str(v) for v in row))
    console = _console()
    console.print(table)
    if few:
        console.print(
            "[yellow]note:[/] fewer than 10 replications at some points: intervals are "
            "Student-t, cut at each metric's bounds (experiments/intervals.py)"
        )
    return 0


def _analysis_table(
    args: argparse.Namespace, metrics: list[str], reduce: dict
) -> tuple[pl.DataFrame, str]:
    """The table ``aimarket analyze`` prints, and its title."""
    from aimarket.experiments import analysis

    if args.paired is not None or args.sensitivity or args.discover:
        frames = []
        for metric in metrics if not args.discover else [None]:
            if args.paired is not None:
                frame = analysis.paired_differences(
                    args.out, metric, baseline=args.paired, **reduce
                )
            elif args.sensitivity:
                frame = analysis.sensitivity(args.out, metric, **reduce)
            else:
                frame = analysis.discover(
                    args.out, args.discover, threshold=args.threshold, **reduce
                )
            if metric is not None:
                frame = frame.with_columns(metric=pl.lit(metric))
            frames.append(frame)
        stats = pl.concat(frames, how="diagonal_relaxed")
        title = (
            f"paired differences from point {args.paired}"
            if args.paired is not None
            else "sensitivity indices"
            if args.sensitivity
            else f"PRIM box where {args.discover}"
        )
    else:
        stats = analysis.point_statistics(args.out, metrics, **reduce)
        title = "mean and 95% CI over replications"
    return stats, title


def _require_runs(out: Path) -> dict[str, int]:
    """The store's done and failed runs; refuses a store without a finished run."""
    from aimarket.experiments.analysis import run_counts

    counts = run_counts(out)
    if counts["done"] == 0:
        raise ConfigError(f"{out}: no finished runs yet (`aimarket status {out}` says why)")
    return counts


def _check_output_files(*paths: Path | None) -> None:
    """Refuse, before any work, an output file whose folder does not exist."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            raise ConfigError(f"{path}: folder {path.parent} does not exist")


def comparison_table(frame: pl.DataFrame, title: str) -> Table:
    from aimarket.experiments.targets import month_label

    table = Table(title=title)
    for col in ("point", "target", "role", "observed", "simulated", "95% CI", "within", "unit"):
        table.add_column(col, justify="right" if col in ("simulated", "95% CI") else "left")
    for r in frame.iter_rows(named=True):
        dated = r["unit"] == "month"
        show = month_label if dated else (lambda v: "n/a" if v is None else f"{v:.3g}")
        ci = f"[{show(r['ci_low'])}, {show(r['ci_high'])}]" if r["ci_low"] is not None else "n/a"
        simulated = show(r["simulated"])
        if r["undefined"]:
            simulated += f" ({r['undefined']} never)"
        table.add_row(
            str(r["point_id"]),
            r["target"],
            r.get("role", "calibrate"),
            r["observed"],
            simulated,
            ci,
            "yes" if r["within"] else "NO",
            r["unit"],
        )
    return table


def _compare(args: argparse.Namespace) -> int:
    from aimarket.experiments.targets import compare, load_targets

    targets = load_targets(args.targets)
    if not Store.is_store(args.out):
        raise ConfigError(f"out = {str(args.out)!r}: not an aimarket store; expected a --out dir")
    _check_output_files(args.csv)
    counts = _require_runs(args.out)
    frame = compare(args.out, targets)
    if args.point is not None:
        frame = frame.filter(pl.col("point_id") == args.point)
        if frame.is_empty():
            raise ConfigError(f"--point {args.point}: no finished runs at that point")
    if args.csv:
        frame.write_csv(args.csv)
    met = int(frame["within"].sum())
    _console().print(
        comparison_table(
            frame,
            f"aimarket compare: {args.out} against {args.targets} ({met} of {frame.height} "
            f"within tolerance; {counts['done']} runs)",
        )
    )
    return 0
