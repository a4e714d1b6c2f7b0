"""``aimarket calibrate``: ABC-SMC of a config's free parameters, then a predictive check.

``aimarket calibrate CONFIG TARGETS --out DIR`` runs :func:`experiments.abc.run_abc` on the
config's ``[calibration]`` against the in-sample targets, on all local cores, or on Dask
with ``--scheduler`` (or the config's ``[cluster]``). Into ``DIR`` (new or empty) it writes:

``abc.db``
    pyabc's history (SQLite; ``pyabc.History("sqlite:///DIR/abc.db")`` reads it);
``posterior.parquet``
    every generation's particles (:mod:`experiments.posterior`);
``generations.parquet``
    per generation: epsilon, particles, simulations, acceptance;
``calibrated.toml``
    the config with ``[model]`` at the posterior medians (what ``aimarket run`` uses),
    ``[sweep] posterior = "posterior.parquet"`` (a sweep draws the parameters per
    replicate) and ``predictive_runs`` replications, the posterior summary as comments;
``predictive/``
    a store with that sweep: the posterior-predictive runs;
``coverage.csv``
    every target, in-sample and validation, against the predictive runs
    (:func:`experiments.targets.coverage`).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aimarket.experiments.config import ConfigError, ExperimentConfig
from aimarket.experiments.posterior import summary
from aimarket.experiments.storefiles import write_parquet_atomic

__all__ = [
    "GenerationProgress",
    "Submitter",
    "calibrated_config",
    "coverage_table",
    "identity",
    "posterior_table",
    "prepare_out",
    "submitter",
    "write_tables",
    "write_text_atomic",
]

Submitter = tuple[Callable[..., Future], int, str | None]


def prepare_out(out: Path, identity: dict[str, str], *, resume: bool) -> None:
    """Create ``--out`` (new or empty) and record what it calibrates, or check, with
    ``--resume``, that it holds an unfinished calibration of the same config and targets.

    ``identity``: hashes of the config (its budget left out: a resumed calibration may be
    given more generations) and of the targets. A calibration never writes over files it
    did not write, and never continues another's.
    """
    record = out / "calibration.json"
    if not resume:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigError(
                f"--out {str(out)!r}: exists and is not an empty directory; expected a new "
                "one, or --resume to finish a calibration there"
            )
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(record, json.dumps(identity, indent=2, sort_keys=True) + "\n")
        return
    if not record.is_file():
        raise ConfigError(f"--out {str(out)!r}: no calibration to resume (no calibration.json)")
    if json.loads(record.read_text()) != identity:
        raise ConfigError(
            f"--out {str(out)!r}: holds a calibration of another config or targets; "
            "resume with the same ones, or start a new --out"
        )
    if (out / "coverage.csv").is_file():
        raise ConfigError(
            f"--out {str(out)!r}: this calibration is finished; for more generations, "
            "start a new --out with a larger calibration.populations"
        )


def identity(config: ExperimentConfig, targets_text: str) -> dict[str, str]:
    """What a calibration directory is of: the config without its budget, and the targets."""
    from aimarket.experiments.config import config_hash

    assert config.calibration is not None
    budget = {"populations", "max_simulations", "min_epsilon"}
    section = config.calibration.model_copy(
        update=dict.fromkeys(budget, None)  # type: ignore[arg-type]
    )
    return {
        "config": config_hash(config.model_copy(update={"calibration": section})),
        "targets": hashlib.sha256(targets_text.encode()).hexdigest(),
    }


@contextmanager
def submitter(
    *, workers: int, scheduler: str | None = None, cluster: Any = None
) -> Iterator[Submitter]:
    """``(submit, in_flight, expected_numerics)`` for :func:`experiments.abc.run_abc`:
    this process (1 worker), a local spawn pool, or a Dask cluster."""
    from aimarket.experiments.abc import inline_submit
    from aimarket.experiments.executors import die_with_parent
    from aimarket.sim.run import numerics

    if scheduler is not None or cluster is not None:
        from aimarket.experiments.cluster import check_numerics, dask_client, numerics_fix

        expected = numerics()
        with dask_client(scheduler=scheduler, cluster=cluster) as (client, threads):
            check_numerics(client, expected, fix=numerics_fix(scheduler, client))

            def submit(fn: Callable[..., Any], *args: Any) -> Future:
                return client.submit(fn, *args, pure=False)

            yield submit, threads, expected
        return
    if workers == 1:
        yield inline_submit, 1, None
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        yield pool.submit, workers, None


def calibrated_config(
    config: ExperimentConfig, posterior: pl.DataFrame, generations: pl.DataFrame
) -> str:
    """The text of ``calibrated.toml``: the posterior medians in ``[model]``, a posterior
    design in ``[sweep]``, ``predictive_runs`` replications, the evidence as comments."""
    assert config.calibration is not None
    table = summary(posterior)
    data: dict[str, Any] = {
        "experiment": {
            **config.experiment.model_dump(mode="json", exclude_none=True),
            "replications": config.calibration.predictive_runs,
        },
        "model": config.model.model_dump(mode="json", exclude_defaults=True),
        "sweep": {"posterior": "posterior.parquet"},
    }
    if config.cluster is not None:
        data["cluster"] = config.cluster.model_dump(mode="json", exclude_none=True)
    for row in table.iter_rows(named=True):
        node = data["model"]
        *parents, leaf = row["parameter"].split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = float(f"{row['median']:.5g}")
    last = generations.row(-1, named=True)
    lines = [
        "# Calibrated by `aimarket calibrate` (ABC-SMC): "
        f"{generations.height} generations, {int(generations['simulations'].sum())} runs; "
        f"last epsilon {last['epsilon']:.3g} (RMS error over the in-sample targets, in "
        "units of their tolerances).",
        "# [model] holds the posterior medians (`aimarket run`); `aimarket sweep` draws the",
        "# free parameters from posterior.parquet per replicate. Posterior:",
        "#   parameter: median [5%, 95%]",
    ]
    lines += [
        f"#   {r['parameter']}: {r['median']:.4g} [{r['q05']:.4g}, {r['q95']:.4g}]"
        for r in table.iter_rows(named=True)
    ]
    return "\n".join(lines) + "\n\n" + tomli_w.dumps(data)


def write_tables(out: Path, **frames: pl.DataFrame) -> list[Path]:
    """Write each frame to ``out/<name>.parquet`` atomically."""
    paths = []
    for name, frame in frames.items():
        path = out / f"{name}.parquet"
        write_parquet_atomic(frame, path, out)
        paths.append(path)
    return paths


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class GenerationProgress:
    """A rich progress bar per ABC-SMC generation (accepted of wanted; runs evaluated)."""

    def __init__(self, console: Console, *, disable: bool = False) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("accepted of {task.fields[evaluated]} runs"),
            TimeElapsedColumn(),
            console=console,
            disable=disable,
        )
        self.tasks: dict[int, Any] = {}
        self.log = not disable and not console.is_terminal

    def __enter__(self) -> GenerationProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def update(self, report: dict[str, int]) -> None:
        """Show a :class:`experiments.abc.GenerationReport`."""
        t = report["t"]
        if t not in self.tasks:
            label = "prior sample" if t < 0 else f"generation {t}"
            self.tasks[t] = self.progress.add_task(label, total=report["wanted"], evaluated=0)
        self.progress.update(
            self.tasks[t], completed=report["accepted"], evaluated=report["evaluated"]
        )
        if self.log and report["accepted"] == report["wanted"]:
            # a log file gets one line per generation (a live bar needs a terminal)
            label = self.progress.tasks[self.tasks[t]].description
            self.progress.console.log(
                f"{label}: {report['wanted']} accepted of {report['evaluated']} runs"
            )


def posterior_table(posterior: pl.DataFrame, generations: pl.DataFrame) -> Table:
    """The posterior summary, per parameter, as a rich table."""
    last = generations.row(-1, named=True)
    table = Table(
        title=f"posterior after {generations.height} generations "
        f"({int(generations['simulations'].sum())} runs; epsilon {last['epsilon']:.3g})"
    )
    for column in ("parameter", "median", "5%", "95%", "mean"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for r in summary(posterior).iter_rows(named=True):
        table.add_row(r["parameter"], *(f"{r[k]:.4g}" for k in ("median", "q05", "q95", "mean")))
    return table


def coverage_table(frame: pl.DataFrame) -> Table:
    """:func:`experiments.targets.coverage` as a rich table (dates as months)."""
    from aimarket.experiments.targets import month_label

    table = Table(title="posterior-predictive check: observed against the runs' quantiles")
    for column in (
        "target",
        "role",
        "observed",
        "median",
        "50% range",
        "90% range",
        "in 50%",
        "in 90%",
    ):
        table.add_column(column)
    for r in frame.iter_rows(named=True):
        show = month_label if r["unit"] == "month" else (lambda v: f"{v:.3g}")
        table.add_row(
            r["target"],
            r["role"],
            r["observed"],
            show(r["median"]),
            f"{show(r['q25'])} - {show(r['q75'])}",
            f"{show(r['q05'])} - {show(r['q95'])}",
            "yes" if r["inside_50"] else "no",
            "yes" if r["inside_90"] else "no",
        )
    return table
