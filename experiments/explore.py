"""``aimarket explore CONFIG``: Mesa's SolaraViz page for one run of a config's base point.

This module is the command (imported with the CLI, so it loads nothing heavy); the page
itself, its model and plots are in :mod:`aimarket.experiments.explore_app`, which only the
page's server (and tests) import.

How the server starts: :func:`run_parsed` checks the ``viz`` extra (solara, altair and
networkx, what ``mesa.visualization`` imports), validates the config (a bad one exits 2
before any server) and checks the port, then replaces this process (POSIX ``execve``, as
``aimarket worker`` does) with ``python -m solara run aimarket.experiments.explore_app
--host 127.0.0.1 --port PORT --production``. The config's path and overrides travel in two
environment variables (:data:`CONFIG_VARIABLE`, :data:`OVERRIDES_VARIABLE`) that the app
module reads when solara asks it for its ``Page``. So solara's own command line sets up
its server (uvicorn, websockets, static assets) as it documents and tests it, the numerics
``aimarket`` pinned are inherited, and Ctrl-C or a kill stops the server itself rather than
a parent that could leave it running.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from aimarket.experiments.cliargs import config_source_args
from aimarket.experiments.config import ConfigError, load_config

__all__ = [
    "CONFIG_VARIABLE",
    "OVERRIDES_VARIABLE",
    "VIZ_MODULES",
    "add_parser",
    "run_parsed",
    "server_command",
]

#: Environment variables that carry ``aimarket explore``'s config to the app process.
CONFIG_VARIABLE = "AIMARKET_EXPLORE_CONFIG"
OVERRIDES_VARIABLE = "AIMARKET_EXPLORE_OVERRIDES"
#: What ``mesa.visualization`` imports beyond aimarket's own dependencies (the viz extra).
VIZ_MODULES = ("solara", "altair", "networkx")
_COOKIE_WARNING = "ignore:Cookies with samesite=none require https:UserWarning"


def _port(text: str) -> int:
    port = int(text) if text.isdigit() else 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {text!r}")
    return port


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``aimarket explore CONFIG [--seed N] [--set KEY=VALUE] [--port N] [--open]``
    on ``sub`` (the ``aimarket`` command's subparsers) and return its parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "explore",
        help="one run in the browser, with sliders (Mesa's SolaraViz; the viz extra)",
        description=(
            "Serve a page on 127.0.0.1 that runs the config's base point month by month, "
            "with sliders for the main parameters (Reset applies them)."
        ),
    )
    config_source_args(parser)
    parser.add_argument("--port", type=_port, default=8765, help="port on 127.0.0.1 (8765)")
    parser.add_argument("--open", action="store_true", help="also open a browser on the page")
    return parser


def server_command(port: int, *, open_browser: bool = False) -> list[str]:
    """The command line of the page's server (solara's, run by this Python)."""
    return [
        *(sys.executable, "-m", "solara", "run", "aimarket.experiments.explore_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--production", "--no-check-version"),
        "--open" if open_browser else "--no-open",
    ]


def run_parsed(args: argparse.Namespace) -> int:
    """Serve the page of a parsed ``aimarket explore`` command line until stopped.

    On POSIX this process becomes the server (``os.execve``) and the call does not return;
    elsewhere the server runs as a child and its exit status is returned.

    Raises
    ------
    ConfigError
        If the ``viz`` extra is missing, the config is bad or the port is taken.
    """
    missing = [m for m in VIZ_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"aimarket explore: {', '.join(missing)} not installed; "
            "expected pip install 'aimarket[viz]'"
        )
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"experiment.seed={args.seed}")
    config = load_config(args.config, overrides)
    with socket.socket() as probe:  # as uvicorn will bind it, so a closed page's port is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError:
            raise ConfigError(f"--port {args.port}: already in use on 127.0.0.1") from None
    env = {
        **os.environ,
        CONFIG_VARIABLE: str(Path(args.config).resolve()),
        OVERRIDES_VARIABLE: json.dumps(overrides),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # nothing sent anywhere
        "SOLARA_CHECK_HOOKS": "off",  # mesa 3.3's SolaraViz trips solara's lint of hooks
        # solara warns on every page load that a cookie for 127.0.0.1 (not "localhost")
        # cannot be SameSite=None without https: true, and harmless for a local page
        "PYTHONWARNINGS": ",".join(
            w for w in (os.environ.get("PYTHONWARNINGS"), _COOKIE_WARNING) if w
        ),
    }
    command = server_command(args.port, open_browser=args.open)
    print(f"aimarket explore: {config.experiment.name} at http://127.0.0.1:{args.port}/")
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":
        return subprocess.call(command, env=env)
    os.execve(command[0], command, env)  # replaces this process; does not return
