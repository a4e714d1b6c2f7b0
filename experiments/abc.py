"""Likelihood-free calibration: ABC-SMC (pyabc) of a config's free parameters.

The free parameters are the config's ``[calibration.priors]`` (uniform, or log-uniform);
every other parameter stays at its sourced default. A particle is one run of the config
with the particle's values; its distance is the root-mean-square error over the
*in-sample* targets (``role = "calibrate"``), each in units of its tolerance
(:func:`experiments.targets.tolerance`), a target undefined in the run (a date never
reached, a zero) counting as :data:`UNDEFINED_UNITS`. Validation targets are never
simulated here, so they cannot enter the distance.

pyabc draws particles with numpy's global generator. So that a calibration is a function
of its config and seed alone, whatever the executor or the number of workers,
:class:`SeededSampler` gives every evaluation ``j`` of generation ``t`` its own seed,
``SeedSequence(experiment.seed, spawn_key=(ABC_SPAWN_KEY, t + 1, j))``, which seeds the
global generator for pyabc's draw and, through :data:`_KEY`, the run itself; a generation
keeps evaluations in the order of ``j`` up to its ``n``-th acceptance (an unbiased rule:
which evaluations count does not depend on how long they took; pyabc's own
``ConcurrentFutureSampler`` keeps the same prefix). A lock makes each evaluation whole
within a process, so threads of a Dask worker cannot interleave their draws.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import polars as pl
import pyabc
from pyabc.sampler import Sampler

from aimarket.experiments.config import ConfigError, ExperimentConfig, PriorSection
from aimarket.experiments.design_paths import apply_values
from aimarket.experiments.posterior import STAT_PREFIX
from aimarket.experiments.targets import Target, observed_statistic, statistics, tolerance
from aimarket.sim.run import RunSpec, numerics, run_one

__all__ = [
    "ABC_SPAWN_KEY",
    "UNDEFINED_UNITS",
    "GenerationReport",
    "SeededSampler",
    "TargetDistance",
    "TargetModel",
    "generations_frame",
    "in_sample",
    "posterior_frame",
    "run_abc",
]

#: Spawn key of the calibration's streams (evaluations and pyabc's own draws).
ABC_SPAWN_KEY = 0xABC_5EED
#: Error, in tolerance units, of a target the run never defined.
UNDEFINED_UNITS = 10.0

_LOCK = threading.Lock()
#: ``(t + 1, j)`` of the evaluation under way in this process (set under :data:`_LOCK`).
_KEY: tuple[int, int] = (0, 0)


def in_sample(targets: Sequence[Target]) -> tuple[Target, ...]:
    """The targets a calibration may use: ``role = "calibrate"``."""
    chosen = tuple(t for t in targets if t.role == "calibrate")
    if not chosen:
        raise ConfigError("targets: no target has role = 'calibrate'; nothing to calibrate on")
    return chosen


class TargetModel:
    """pyabc's model: a particle's parameters -> one run's in-sample target statistics.

    Log-scale priors are sampled as ``log10`` of the parameter (:meth:`values` converts).
    """

    def __init__(self, config: ExperimentConfig, targets: Sequence[Target]) -> None:
        if config.calibration is None:
            raise ConfigError(f"{config.experiment.name}: no [calibration] section")
        self.priors: dict[str, PriorSection] = dict(config.calibration.priors)
        self.dump = config.model.model_dump()
        self.experiment = config.experiment
        self.targets = in_sample(targets)

    def values(self, particle: Mapping[str, float]) -> dict[str, float]:
        """Natural-scale parameter values of a pyabc parameter set."""
        return {
            name: 10.0 ** float(particle[name]) if prior.scale == "log" else float(particle[name])
            for name, prior in self.priors.items()
        }

    def spec(self, particle: Mapping[str, float], key: tuple[int, int]) -> RunSpec:
        """The run of ``particle`` as evaluation ``key`` = ``(t + 1, j)``."""
        return RunSpec(
            run_id=f"abc-t{key[0]:03d}-j{key[1]:06d}",
            point_id=0,
            replicate=0,
            params=apply_values(self.dump, self.values(particle)),
            seed_entropy=self.experiment.seed,
            spawn_key=(ABC_SPAWN_KEY, *key),
            horizon_months=self.experiment.horizon_months,
            start_month=self.experiment.start,
        )

    def __call__(self, particle: Mapping[str, float]) -> dict[str, float]:
        result = run_one(self.spec(particle, _KEY))
        if result.status != "done":
            return {t.name: math.nan for t in self.targets}
        return statistics(result.tables, self.targets)


class TargetDistance:
    """Root-mean-square error over the targets, each in units of its tolerance.

    Examples
    --------
    >>> from aimarket.experiments.targets import Target
    >>> t = Target(name="a", kind="value_at", column="x", observed=10.0, unit="u",
    ...            source="s", date="2021-01", tolerance_factor=10.0)
    >>> TargetDistance([t])({"a": 3.0}, {"a": 1.0})  # 2 log10 units off, tolerance 1
    2.0
    """

    def __init__(self, targets: Sequence[Target]) -> None:
        self.tolerances = {t.name: tolerance(t) for t in targets}

    def __call__(self, x: Mapping[str, float], x0: Mapping[str, float]) -> float:
        errors = [
            (x[name] - x0[name]) / tol if math.isfinite(x[name]) else UNDEFINED_UNITS
            for name, tol in self.tolerances.items()
        ]
        return float(math.sqrt(sum(e * e for e in errors) / len(errors)))


@functools.lru_cache(maxsize=2)
def _load(payload: bytes) -> Callable[[], Any]:
    return cloudpickle.loads(payload)


def _seed_globals(seq: np.random.SeedSequence) -> None:
    """Seed the global generators pyabc draws from (numpy's and the standard library's)."""
    state = seq.generate_state(2)
    np.random.seed(int(state[0]))  # noqa: NPY002 (pyabc draws from the global generator)
    random.seed(int(state[1]))


def _evaluate(
    payload: bytes, entropy: int, t: int, job: int, expected_numerics: str | None = None
) -> Any:
    """One evaluation of pyabc's ``simulate_one``, seeded by ``(t, job)``; a task."""
    if expected_numerics is not None and numerics() != expected_numerics:
        raise ConfigError(  # the command's one line and exit 2, as a sweep's refusal
            f"a Dask worker computes with {numerics()!r}, expected {expected_numerics!r}; "
            "start workers with `aimarket worker SCHEDULER` (docs/cluster.md)"
        )
    global _KEY
    simulate_one = _load(payload)
    with _LOCK:
        _seed_globals(np.random.SeedSequence(entropy, spawn_key=(ABC_SPAWN_KEY, t + 1, job)))
        _KEY = (t + 1, job)
        return simulate_one()


class GenerationReport(dict):
    """Progress of a generation: ``t``, ``accepted``, ``wanted``, ``evaluated``."""


class SeededSampler(Sampler):
    """A pyabc sampler whose generations depend only on the seed, not on timing.

    ``submit(fn, *args)`` returns a future (a ``concurrent.futures`` pool's, a Dask
    client's, or :func:`inline_submit`'s); ``in_flight`` evaluations run at once.
    """

    def __init__(
        self,
        submit: Callable[..., Future],
        *,
        entropy: int,
        in_flight: int = 1,
        expected_numerics: str | None = None,
        on_progress: Callable[[GenerationReport], None] | None = None,
        budget: float = np.inf,
    ) -> None:
        super().__init__()
        self.submit, self.entropy, self.in_flight = submit, entropy, max(1, in_flight)
        self.expected_numerics, self.on_progress = expected_numerics, on_progress
        #: runs allowed in all, and runs taken so far (pyabc checks its own total only
        #: between generations, so a last generation could overrun it many times over)
        self.budget, self.spent = budget, 0

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable[[], Any],
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> Any:
        """Evaluations ``0, 1, ...`` of generation ``t`` up to the ``n``-th acceptance."""
        payload = cloudpickle.dumps(simulate_one)
        max_eval = min(max_eval, max(self.budget - self.spent, 0))
        running: dict[int, Future] = {}
        finished: dict[int, Any] = {}
        submitted = prefix = accepted = 0
        while accepted < n and prefix < max_eval:
            while len(running) < self.in_flight and submitted < max_eval:
                running[submitted] = self.submit(
                    _evaluate, payload, self.entropy, t, submitted, self.expected_numerics
                )
                submitted += 1
            for job in [j for j, f in running.items() if f.done()]:
                finished[job] = running.pop(job).result()
            while prefix in finished and accepted < n and prefix < max_eval:
                accepted += bool(finished[prefix].accepted)
                prefix += 1
            if self.on_progress is not None:
                self.on_progress(
                    GenerationReport(t=t, accepted=accepted, wanted=n, evaluated=prefix)
                )
            if running and not any(f.done() for f in running.values()):
                time.sleep(0.005)
        for future in running.values():
            future.cancel()
        sample = self._create_empty_sample()
        for job in range(prefix):
            sample.append(finished.pop(job))
        sample.ok = accepted >= n
        self.nr_evaluations_ = prefix
        self.spent += prefix
        return sample


def inline_submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn(*args)`` now, in this process, and return its finished future."""
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:
        future.set_exception(exc)
    return future


def _prior(prior: PriorSection) -> Any:
    lo, hi = (
        (math.log10(prior.low), math.log10(prior.high))
        if prior.scale == "log"
        else (
            prior.low,
            prior.high,
        )
    )
    return pyabc.RV("uniform", lo, hi - lo)


def run_abc(
    config: ExperimentConfig,
    targets: Sequence[Target],
    db_path: Path,
    *,
    submit: Callable[..., Future] = inline_submit,
    in_flight: int = 1,
    expected_numerics: str | None = None,
    on_progress: Callable[[GenerationReport], None] | None = None,
    resume: bool = False,
) -> Any:
    """Run ABC-SMC into the SQLite file ``db_path`` and return pyabc's ``History``.

    With ``resume``, continue the run stored in ``db_path`` from its last finished
    generation up to ``populations`` in all: a generation is a function of the one before
    and the seed, so a resumed calibration ends where an uninterrupted one would.
    """
    cal = config.calibration
    if cal is None:
        raise ConfigError(f"{config.experiment.name}: no [calibration] section")
    model = TargetModel(config, targets)
    for name, prior in cal.priors.items():  # a bad path fails here, before any run
        for bound in (prior.low, prior.high):
            try:
                apply_values(model.dump, {name: bound})
            except Exception as exc:
                raise ConfigError(
                    f"calibration.priors.{name}: not a model parameter that takes {bound} ({exc})"
                ) from None
    logging.getLogger("ABC").setLevel(logging.WARNING)
    _seed_globals(np.random.SeedSequence(config.experiment.seed, spawn_key=(ABC_SPAWN_KEY,)))
    sampler = SeededSampler(
        submit,
        entropy=config.experiment.seed,
        in_flight=in_flight,
        expected_numerics=expected_numerics,
        on_progress=on_progress,
        budget=cal.max_simulations,
    )
    abc = pyabc.ABCSMC(
        model,
        pyabc.Distribution(**{n: _prior(p) for n, p in cal.priors.items()}),
        TargetDistance(model.targets),
        population_size=cal.particles,
        sampler=sampler,
    )
    observed = {t.name: observed_statistic(t) for t in model.targets}
    if resume:
        history = abc.load(f"sqlite:///{db_path}", observed_sum_stat=observed)
    else:
        history = abc.new(f"sqlite:///{db_path}", observed)
    sampler.spent = history.total_nr_simulations  # the prior sample included
    remaining = cal.populations - (history.max_t + 1)
    if remaining <= 0:
        return history
    history = abc.run(
        minimum_epsilon=cal.min_epsilon,
        max_nr_populations=remaining,
        max_total_nr_simulations=cal.max_simulations,
    )
    if history.max_t < 0:
        raise ConfigError(
            f"calibration.max_simulations = {cal.max_simulations}: the budget ran out "
            "before the first generation was complete; expected a larger budget"
        )
    return history


def posterior_frame(history: Any, model: TargetModel) -> pl.DataFrame:
    """Every generation's particles: ``generation``, ``particle``, ``weight``,
    ``distance``, the parameters (natural scale) and ``target:<name>`` statistics."""
    rows = []
    for t in range(history.max_t + 1):
        population = history.get_population(t=t)
        for i, particle in enumerate(population.particles):
            rows.append(
                {
                    "generation": t,
                    "particle": i,
                    "weight": float(particle.weight),
                    "distance": float(particle.distance),
                    **model.values(particle.parameter),
                    **{f"{STAT_PREFIX}{k}": float(v) for k, v in particle.sum_stat.items()},
                }
            )
    frame = pl.DataFrame(rows)
    total = pl.col("weight").sum().over("generation")
    return frame.with_columns(weight=pl.col("weight") / total)


def generations_frame(history: Any) -> pl.DataFrame:
    """One row per generation: ``generation``, ``epsilon``, ``particles``, ``simulations``
    and ``acceptance_frac``."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    frame = pl.DataFrame(
        {
            "generation": pops["t"].astype(int).tolist(),
            "epsilon": pops["epsilon"].astype(float).tolist(),
            "particles": pops["particles"].astype(int).tolist(),
            "simulations": pops["samples"].astype(int).tolist(),
        }
    )
    return frame.with_columns(acceptance_frac=pl.col("particles") / pl.col("simulations"))
