"""The ``aimarket econ`` subcommand: the market maths of :mod:`markets` from the shell.

Each sub-subcommand prints one JSON object to stdout and returns 0::

    aimarket econ compute-optimal --flop 1e24 [--constants besiroglu2024]
    aimarket econ inference-optimal --params 13e9 --tokens 2.6e11 --inference-tokens 2e12
    aimarket econ training-cost --flop 3.8e25 [--gpu h100] [--mfu 0.4]
        [--usd-per-gpu-hour 2] [--gpus 1024]
    aimarket econ serving-cost --params 70e9 --batch 64 [--gpu h100] [--gpus-per-node 8]
        [--usd-per-gpu-hour 2] [--bytes-per-param 2]

Invalid values (non-positive or non-finite numbers, unknown GPU or constant-set names, an
MFU outside (0, 1]) exit with status 2 and a single line on stderr naming the option, the
value and what was expected; no traceback.

:func:`add_parser` registers ``econ`` on the ``aimarket`` command's subparsers and sets
``func``; :func:`run_parsed` (also ``args.func(args)``) runs a parsed namespace and returns
the exit status; :func:`main` runs it standalone
(``python -m aimarket.experiments.econ compute-optimal --flop 1e24``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from aimarket.markets.costs import serving_cost, training_cost
from aimarket.markets.hardware import GPUS, get_gpu
from aimarket.markets.scaling import (
    CONSTANTS,
    DEFAULT_CONSTANTS,
    compute_optimal,
    compute_optimal_loss,
    inference_optimal,
)

__all__ = ["add_parser", "main", "run_parsed"]

PROG = "aimarket econ"

DEFAULT_USD_PER_GPU_HOUR = 2.0
"""calibration.md "H100 rental": ~$1.7–2.4 per GPU-hour in 2024–26."""

DEFAULT_TRAINING_GPUS = 1024.0
"""Assumption: a mid-size cluster; only the training duration depends on it."""


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message.removeprefix('argument ')}\n")


# --------------------------------------------------------------------------- value types


DESCRIPTION = "The market maths of aimarket from the shell: one JSON object per command."


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _positive(text: str) -> float:
    x = _number(text)
    if not (math.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return x


def _non_negative(text: str) -> float:
    x = _number(text)
    if not (math.isfinite(x) and x >= 0):
        raise argparse.ArgumentTypeError(f"expected a non-negative finite number, got {text!r}")
    return x


def _at_least_one(text: str) -> float:
    x = _number(text)
    if not (math.isfinite(x) and x >= 1):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 1, got {text!r}")
    return x


def _whole_positive(text: str) -> int:
    x = _number(text)
    if not (math.isfinite(x) and x >= 1 and x == int(x)):
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(x)


def _fraction(text: str) -> float:
    x = _number(text)
    if not (math.isfinite(x) and 0 < x <= 1):
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return x


def _gpu_name(text: str) -> str:
    if text.lower() not in GPUS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(sorted(GPUS))}, got {text!r}")
    return text.lower()


def _constants_name(text: str) -> str:
    if text not in CONSTANTS:
        valid = ", ".join(sorted(CONSTANTS))
        raise argparse.ArgumentTypeError(f"expected one of {valid}, got {text!r}")
    return text


# --------------------------------------------------------------------------- commands


def _compute_optimal(args: argparse.Namespace) -> dict[str, Any]:
    params, tokens = compute_optimal(args.flop, constants=args.constants)
    return {
        "params": params,
        "tokens": tokens,
        "tokens_per_param": tokens / params,
        "loss": compute_optimal_loss(args.flop, constants=args.constants),
    }


def _inference_optimal(args: argparse.Namespace) -> dict[str, Any]:
    opt = inference_optimal(
        args.params, args.tokens, args.inference_tokens, constants=args.constants
    )
    return {
        "params": opt.params,
        "tokens": opt.tokens,
        "total_flop": opt.total_flop,
        "baseline_total_flop": opt.baseline_total_flop,
        "saving_frac": opt.saving_frac,
    }


def _training_cost(args: argparse.Namespace) -> dict[str, Any]:
    cost = training_cost(
        args.flop,
        peak_flop_per_s=get_gpu(args.gpu).peak_flop_per_s,
        mfu=args.mfu,
        usd_per_gpu_hour=args.usd_per_gpu_hour,
        gpus=args.gpus,
    )
    return {"usd": cost.usd, "gpu_hours": cost.gpu_hours, "months": cost.months}


def _serving_cost(args: argparse.Namespace) -> dict[str, Any]:
    gpu = get_gpu(args.gpu)
    cost = serving_cost(
        args.params,
        batch=args.batch,
        peak_flop_per_s=gpu.peak_flop_per_s,
        mem_bw_bytes_per_s=gpu.mem_bw_bytes_per_s,
        mem_bytes=gpu.mem_bytes,
        usd_per_gpu_hour=args.usd_per_gpu_hour,
        gpus_per_node=args.gpus_per_node,
        bytes_per_param=args.bytes_per_param,
    )
    return {
        "usd_per_mtok": cost.usd_per_token * 1e6,
        "latency_ms_per_token": cost.latency_s_per_token * 1e3,
        "bound": "memory" if cost.memory_bound else "compute",
    }


_COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "compute-optimal": _compute_optimal,
    "inference-optimal": _inference_optimal,
    "training-cost": _training_cost,
    "serving-cost": _serving_cost,
}


def _configure(parser: argparse.ArgumentParser) -> None:
    """Add the econ sub-subcommands to ``parser``."""
    parser.set_defaults(func=run_parsed)
    sub = parser.add_subparsers(
        dest="econ_command", metavar="COMMAND", required=True, parser_class=_OneLineParser
    )
    constants_help = f"scaling-law constant set: {', '.join(sorted(CONSTANTS))}"
    gpu_help = f"GPU: {', '.join(sorted(GPUS))} (default h100)"
    price_help = f"rental price, USD per GPU-hour (default {DEFAULT_USD_PER_GPU_HOUR:g})"

    p = sub.add_parser(
        "compute-optimal",
        help="compute-optimal params and tokens for a training budget",
        description="Chinchilla compute-optimal allocation (Hoffmann et al. 2022, eq. 4).",
    )
    p.add_argument("--flop", type=_positive, required=True, help="training FLOP, e.g. 1e24")
    p.add_argument(
        "--constants", type=_constants_name, default=DEFAULT_CONSTANTS, help=constants_help
    )

    p = sub.add_parser(
        "inference-optimal",
        help="inference-aware params and tokens at a planned model's loss",
        description="Sardana et al. 2024: minimise 6ND + 2N*inference at fixed loss.",
    )
    p.add_argument("--params", type=_positive, required=True, help="planned parameters N")
    p.add_argument("--tokens", type=_positive, required=True, help="planned training tokens D")
    p.add_argument(
        "--inference-tokens", type=_non_negative, required=True, help="lifetime inference tokens"
    )
    p.add_argument(
        "--constants", type=_constants_name, default=DEFAULT_CONSTANTS, help=constants_help
    )

    p = sub.add_parser(
        "training-cost",
        help="cost, GPU-hours and duration of a training run",
        description="gpu_hours = flop / (peak * mfu) / 3600; months at 730 h per month.",
    )
    p.add_argument("--flop", type=_positive, required=True, help="training FLOP, e.g. 3.8e25")
    p.add_argument("--gpu", type=_gpu_name, default="h100", help=gpu_help)
    p.add_argument("--mfu", type=_fraction, default=0.4, help="model FLOP utilisation (0.4)")
    p.add_argument(
        "--usd-per-gpu-hour", type=_positive, default=DEFAULT_USD_PER_GPU_HOUR, help=price_help
    )
    p.add_argument(
        "--gpus",
        type=_positive,
        default=DEFAULT_TRAINING_GPUS,
        help=f"GPUs in the run (default {DEFAULT_TRAINING_GPUS:g})",
    )

    p = sub.add_parser(
        "serving-cost",
        help="decode cost per million tokens and latency at a batch size",
        description="Decode roofline: max(weight bytes / bandwidth, batch * 2N / (peak * mfu)).",
    )
    p.add_argument("--params", type=_positive, required=True, help="model parameters N")
    p.add_argument("--batch", type=_at_least_one, required=True, help="sequences per batch")
    p.add_argument("--gpu", type=_gpu_name, default="h100", help=gpu_help)
    p.add_argument("--gpus-per-node", type=_whole_positive, default=8, help="default 8")
    p.add_argument(
        "--usd-per-gpu-hour", type=_positive, default=DEFAULT_USD_PER_GPU_HOUR, help=price_help
    )
    p.add_argument(
        "--bytes-per-param", type=_positive, default=2.0, help="2 for BF16 (default), 1 for FP8"
    )


def add_parser(subparsers: Any) -> None:
    """Register ``econ`` on an ``argparse`` subparsers object (``parser.add_subparsers()``).

    The parsed namespace carries ``func`` (= :func:`run_parsed`); ``args.func(args)`` runs the
    command and returns the exit status.
    """
    parser = subparsers.add_parser(
        "econ",
        help="market maths: compute-optimal models, training and serving costs",
        description=DESCRIPTION,
    )
    _configure(parser)


def run_parsed(args: argparse.Namespace) -> int:
    """Run the parsed econ command: JSON on stdout and 0, or one line on stderr and 2."""
    try:
        result = _COMMANDS[args.econ_command](args)
        text = json.dumps(result, allow_nan=False, indent=2)
    except ValueError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: parse ``argv`` (default ``sys.argv[1:]``) and run it.

    Returns the exit status instead of raising ``SystemExit`` (0 for ``--help``, 2 for
    invalid arguments).
    """
    parser = _OneLineParser(prog=PROG, description=DESCRIPTION)
    _configure(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return run_parsed(args)


if __name__ == "__main__":
    sys.exit(main())
