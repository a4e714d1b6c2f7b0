"""The ``aimarket`` command.

``aimarket run CONFIG``          run a config's base point into a fresh store, print a summary
``aimarket sweep CONFIG --out``  run a config's whole design (resumable, local or Dask)
``aimarket status OUT``          done, failed, damaged and pending runs of a store
``aimarket verify OUT``          check every part against its ledger record (exit 2 on damage)
``aimarket compact OUT``         merge a store's parts
``aimarket analyze OUT``         replication statistics, paired differences, sensitivity, PRIM
``aimarket report OUT``          a self-contained HTML report with plots
``aimarket calibrate CONFIG TARGETS --out DIR``  ABC-SMC posterior of the free parameters
``aimarket compare OUT TARGETS`` a store's runs against observed targets
``aimarket worker SCHEDULER``    a Dask worker pinned like the command (docs/cluster.md)
``aimarket explore CONFIG``      one run in the browser, with sliders (Mesa's SolaraViz)
``aimarket econ ...``            the economics functions from the shell, JSON out

Exit codes: 0 success; 1 some runs failed, or an internal error; 2 bad input or a damaged
or busy store (one line naming the key or file; nothing written); 130 interrupted.
``--debug`` (anywhere) shows the traceback of an error instead of one line.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aimarket.experiments import cli_analysis, cli_store, econ, explore, worker
from aimarket.experiments.cli_summary import console as _console
from aimarket.experiments.cli_summary import print_summary
from aimarket.experiments.cliargs import config_source_args
from aimarket.experiments.config import ConfigError, ExperimentConfig, load_config
from aimarket.experiments.design import plan_runs
from aimarket.experiments.executors import RunStatus, default_workers
from aimarket.experiments.locking import StoreLock
from aimarket.experiments.maintenance import collect_garbage, store_numerics
from aimarket.experiments.manifest import build_manifest
from aimarket.experiments.outputs import open_store, replace_run_store
from aimarket.experiments.runner import base_point_specs
from aimarket.experiments.store import Store
from aimarket.experiments.sweep import SweepReport, execute, parse_shard, select_shard

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2 on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _config_args(p: argparse.ArgumentParser) -> None:
    config_source_args(p)
    p.add_argument("--workers", type=_positive_int, help="local processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("aimarket")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _debug_arg(p: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    p.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks of errors"
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = _Parser(prog="aimarket", description="A simulator of the AI model market.")
    _debug_arg(parser, default=False)
    parser.add_argument("--version", action="version", version=f"aimarket {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a config's base point into a fresh store")
    _config_args(run)
    run.add_argument("--out", type=Path, help="output directory (default runs/<name>)")

    sweep = sub.add_parser("sweep", help="run a config's whole design into a store")
    _config_args(sweep)
    sweep.add_argument("--out", type=Path, required=True, help="output directory")
    sweep.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler, tcp://HOST:PORT")
    sweep.add_argument("--shard", metavar="i/N", help="run only shard i of N (0 <= i < N)")
    sweep.add_argument("--resume", action="store_true", help="finish a sweep already in --out")
    sweep.add_argument(
        "--break-lock", action="store_true", help="take the store from a command that died"
    )

    cli_store.add_parsers(sub)

    calibrate = sub.add_parser(
        "calibrate", help="ABC-SMC of a config's free parameters against observed targets"
    )
    _config_args(calibrate)
    calibrate.add_argument("targets", type=Path, help="targets file (TOML)")
    calibrate.add_argument("--out", type=Path, required=True, help="output directory (new)")
    calibrate.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler, tcp://HOST:PORT")
    calibrate.add_argument(
        "--resume", action="store_true", help="finish a calibration that was stopped in --out"
    )

    cli_analysis.add_parsers(sub)
    econ.add_parser(sub)
    worker.add_parser(sub)
    explore.add_parser(sub)
    for command in sub.choices.values():
        _debug_arg(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aimarket`` console script."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    try:
        return _dispatch(args, err)
    except ConfigError as exc:
        return _fail(args, f"aimarket: error: {exc}", 2)
    except OSError as exc:  # a read-only or full disk, a missing folder, ...
        where = f"{exc.filename}: " if exc.filename else ""
        hint = ""
        if exc.errno == errno.ENOSPC and args.command == "sweep":
            hint = "; finished runs are kept: free some space, then --resume"
        return _fail(args, f"aimarket: error: {where}{exc.strerror or exc}{hint}", 2)
    except KeyboardInterrupt:
        out = getattr(args, "out", None) or "the output directory"
        kept = {
            "sweep": "finished runs are kept; continue with --resume",
            "calibrate": "finished generations are kept; continue with --resume",
            "run": f"nothing was written; {out} is as it was",
        }.get(args.command, "stopped")
        print(f"aimarket: interrupted; {kept}", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, not a traceback, unless --debug
        first = (str(exc).strip().splitlines() or [""])[0]
        line = f"aimarket: internal error: {type(exc).__name__}: {first}"
        return _fail(args, line + " (run again with --debug for the traceback)", 1)


def _fail(args: argparse.Namespace, line: str, code: int) -> int:
    if getattr(args, "debug", False):
        raise
    print(line, file=sys.stderr)
    return code


def _dispatch(args: argparse.Namespace, err: Console) -> int:
    if args.command == "run":
        return _run(args, err)
    if args.command == "sweep":
        return _sweep(args, err)
    if args.command in cli_store.COMMANDS:
        return cli_store.run_parsed(args)
    if args.command in cli_analysis.COMMANDS:
        return cli_analysis.run_parsed(args)
    if args.command == "calibrate":
        return _calibrate(args, err)
    if args.command == "worker":
        return worker.run_parsed(args)
    if args.command == "explore":
        return explore.run_parsed(args)
    return econ.run_parsed(args)


def _load(args: argparse.Namespace) -> ExperimentConfig:
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"experiment.seed={args.seed}")
    return load_config(args.config, overrides)


def _run(args: argparse.Namespace, err: Console) -> int:
    config = _load(args)
    out = args.out if args.out is not None else Path("runs") / config.experiment.name
    if config.sweep is not None:
        err.print("[yellow]note:[/] the config has a \\[sweep]; `aimarket run` runs its base point")
    specs = base_point_specs(config)
    manifest = build_manifest(config, command="run", config_path=str(args.config))

    points = pl.DataFrame({"point_id": [0]}, schema={"point_id": pl.Int64})

    def build(tmp: Path) -> SweepReport:
        store = open_store(tmp, manifest=manifest, points=points, resume=False, shard=None)
        return _execute_with_progress(specs, store, args, err, config.experiment.name)

    report = replace_run_store(out, config.experiment.name, build)
    report.out = out
    print_summary(report, Store(out), console := _console())
    cli_store.warn_mixed_numerics(store_numerics(Store(out)), console)
    return _finish(report, err)


def _sweep(args: argparse.Namespace, err: Console) -> int:
    config = _load(args)
    shard = parse_shard(args.shard) if args.shard else None
    if shard is not None and args.scheduler:
        raise ConfigError("--shard and --scheduler: expected one or the other")
    design, specs = plan_runs(config, config_dir=args.config.resolve().parent)
    from aimarket.experiments.design import points_frame

    manifest = build_manifest(config, command="sweep", config_path=str(args.config))
    manifest["design"] = {"kind": design.kind, "variables": list(design.variables)}
    if design.draws:  # each replicate's posterior draw (docs/sweeps.md, "posterior")
        manifest["design"]["posterior_draws"] = list(design.draws)
    store = open_store(
        args.out, manifest=manifest, points=points_frame(design), resume=args.resume, shard=shard
    )
    mine = select_shard(specs, shard)
    label = config.experiment.name + (f" shard {shard[0]}/{shard[1]}" if shard else "")
    scope = "all" if shard is None else f"shard-{shard[0]}-of-{shard[1]}"
    with StoreLock(store.root, scope, break_lock=getattr(args, "break_lock", False)) as lock:
        for note in lock.notes:
            err.print(f"[yellow]note:[/] {note}")
        if scope == "all":
            collect_garbage(store)  # what killed commands left; no one else is writing
        report = _execute_with_progress(
            mine, store, args, err, label, scheduler=args.scheduler, cluster=config.cluster
        )
    print_summary(report, store, console := _console())
    cli_store.warn_mixed_numerics(store_numerics(store), console)
    return _finish(report, err)


def _execute_with_progress(
    specs: list,
    store: Store,
    args: argparse.Namespace,
    err: Console,
    label: str,
    **executor: object,
) -> SweepReport:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs  {task.fields[failed]} failed  {task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=args.quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task(label, total=None, failed=0, rate="")

        def on_start(n: int, executor_name: str, workers: int) -> None:
            progress.update(task, total=n, description=f"{label} [{executor_name} x{workers}]")

        def on_batch(batch: list[RunStatus]) -> None:
            t = progress.tasks[0]
            failed = t.fields["failed"] + sum(s.status != "done" for s in batch)
            done = t.completed + len(batch)
            elapsed = t.elapsed or 0.0
            rate = f"{done / elapsed:.2f} runs/s" if elapsed > 0 else ""
            progress.update(task, advance=len(batch), failed=failed, rate=rate)

        return execute(
            specs,
            store,
            workers=args.workers,
            on_batch=on_batch,
            on_start=on_start,
            on_warning=lambda message: err.print(f"[yellow]warning:[/] {message}"),
            **executor,  # type: ignore[arg-type]
        )


def _finish(report: SweepReport, err: Console) -> int:
    for run_id, error in report.errors[:5]:
        err.print(f"[red]run {run_id} failed:[/] {error}")
    if len(report.errors) > 5:
        err.print(f"[red]... and {len(report.errors) - 5} more failed runs[/]")
    return 1 if report.failed else 0


def _calibrate(args: argparse.Namespace, err: Console) -> int:
    from aimarket.experiments import calibrate as cal
    from aimarket.experiments.targets import load_targets

    targets = load_targets(args.targets)  # before any run: a bad file writes nothing
    config = _load(args)
    if config.calibration is None:
        raise ConfigError(
            f"{args.config}: no [calibration]; expected [calibration.priors] with each free "
            'parameter\'s prior, e.g. "demand.elasticity" = {low = 1.03, high = 1.5, reason = ".."}'
        )
    try:
        from aimarket.experiments import abc
    except ImportError:
        raise ConfigError(
            "aimarket calibrate needs pyabc: pip install 'aimarket[calibrate]'"
        ) from None
    abc.in_sample(targets)
    identity = cal.identity(config, args.targets.read_text())
    cal.prepare_out(args.out, identity, resume=args.resume)
    if args.resume and (args.out / "posterior.parquet").is_file():  # stopped in the check
        return _predictive(args, err, targets)
    with (
        cal.submitter(
            workers=args.workers or default_workers(),
            scheduler=args.scheduler,
            cluster=config.cluster,
        ) as (submit, in_flight, expected),
        cal.GenerationProgress(err, disable=args.quiet) as progress,
    ):
        history = abc.run_abc(
            config,
            targets,
            args.out / "abc.db",
            submit=submit,
            in_flight=in_flight,
            expected_numerics=expected,
            on_progress=progress.update,
            resume=args.resume,
        )
    posterior = abc.posterior_frame(history, abc.TargetModel(config, targets))
    generations = abc.generations_frame(history)
    cal.write_text_atomic(
        args.out / "calibrated.toml", cal.calibrated_config(config, posterior, generations)
    )
    # posterior.parquet last: its presence says the calibration itself is finished
    cal.write_tables(args.out, generations=generations, posterior=posterior)
    return _predictive(args, err, targets)


def _predictive(args: argparse.Namespace, err: Console, targets: tuple) -> int:
    """The posterior-predictive runs of a finished calibration, and their coverage."""
    from aimarket.experiments import calibrate as cal
    from aimarket.experiments.targets import coverage

    predictive = argparse.Namespace(**vars(args))
    predictive.config, predictive.out = args.out / "calibrated.toml", args.out / "predictive"
    predictive.overrides, predictive.seed, predictive.shard = [], None, None
    predictive.resume = predictive.out.exists()
    status = _sweep(predictive, err)
    frame = coverage(predictive.out, targets)
    frame.write_csv(args.out / "coverage.csv")
    posterior = pl.read_parquet(args.out / "posterior.parquet")
    generations = pl.read_parquet(args.out / "generations.parquet")
    _console().print(cal.posterior_table(posterior, generations))
    _console().print(cal.coverage_table(frame))
    print(f"wrote calibrated.toml, posterior, generations and coverage.csv in {args.out}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
