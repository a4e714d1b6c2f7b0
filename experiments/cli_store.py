"""The store commands of ``aimarket``: ``status``, ``verify`` and ``compact``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aimarket.experiments.maintenance import compact_store, store_status

__all__ = ["COMMANDS", "add_parsers", "run_parsed", "warn_mixed_numerics"]

COMMANDS = ("status", "verify", "compact")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``status``, ``verify`` and ``compact`` subcommands."""
    status = sub.add_parser("status", help="done, failed, damaged and pending runs of a store")
    status.add_argument("out", type=Path)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--verify", action="store_true", help="also check every part's checksum (reads them all)"
    )
    verify = sub.add_parser(
        "verify", help="check every part of a store against its ledger; exit 2 on damage"
    )
    verify.add_argument("out", type=Path)
    compact = sub.add_parser("compact", help="merge a store's parts into one per table")
    compact.add_argument("out", type=Path)
    compact.add_argument(
        "--break-lock", action="store_true", help="take the store from a command that died"
    )


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed store command; its exit code."""
    err = Console(stderr=True)
    if args.command == "compact":
        with err.status("compacting ..."):
            result = compact_store(args.out, break_lock=args.break_lock)
        print(json.dumps(result))
        return 0
    verify = args.command == "verify" or args.verify
    with err.status("checking every part's checksum ..." if verify else "reading the store ..."):
        info = store_status(args.out, checksums=verify)
    if getattr(args, "json", False):
        print(json.dumps(info, indent=2))
    else:
        _print_status(info)
    if verify and info["damaged_files"]:
        return 2
    return 0


def _print_status(info: dict) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=400)  # piped: no line cut mid-path
    table = Table(title=f"aimarket status: {info['out']}", show_header=False)
    for key in ("experiment", "points", "replications", "planned", "done", "failed"):
        table.add_row(key, str(info[key]))
    table.add_row("damaged (parts missing or cut short)", str(info["damaged"]))
    table.add_row("pending", str(info["pending"]))
    table.add_row("parts", ", ".join(f"{k} {v}" for k, v in info["parts"].items()))
    table.add_row("run time, total", f"{info['wall_s_total']:.1f} s")
    if info["numerics"]:
        table.add_row("numerics", "; ".join(f"{k} ({v} runs)" for k, v in info["numerics"].items()))
    table.add_row("checksums", "verified" if info["checksums_verified"] else "not checked")
    if info["locked_by"]:
        table.add_row("in use by", "; ".join(info["locked_by"]))
    console.print(table)
    for line in info["damaged_files"]:
        console.print(f"[red]damaged:[/] {line}")
    if info["damaged_files"]:
        console.print(
            f"`aimarket sweep CONFIG --out {info['out']} --resume` runs the damaged runs again"
        )
    elif info["checksums_verified"]:
        console.print("every part matches its ledger record")
    warn_mixed_numerics(info["numerics"], console)


def warn_mixed_numerics(numerics: dict[str, int], console: Console) -> None:
    """Warn when a store's runs were computed with different numerics."""
    if len(numerics) > 1:
        console.print(
            "[yellow]warning:[/] this store's runs were computed with different numerics "
            f"({'; '.join(numerics)}): a run's tables may differ from a re-run's by more than "
            "rounding. Run every worker through `aimarket` or with the variables of "
            'docs/sweeps.md, "Same tables on every machine".'
        )
