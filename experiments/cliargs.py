"""Command-line arguments shared by the ``aimarket`` subcommands that read a config."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["config_source_args"]


def config_source_args(p: argparse.ArgumentParser) -> None:
    """``CONFIG``, ``--seed`` and repeatable ``--set KEY=VALUE`` (dest ``overrides``)."""
    p.add_argument("config", type=Path, help="experiment config (TOML)")
    p.add_argument("--seed", type=int, help="override experiment.seed")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key by dotted path, e.g. model.labs=6 (repeatable)",
    )
