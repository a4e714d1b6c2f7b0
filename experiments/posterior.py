"""A calibration's posterior: its particles file, weighted draws from it, and summaries.

``aimarket calibrate`` writes ``posterior.parquet``: one row per particle of every ABC-SMC
generation, with ``generation``, ``particle``, ``weight`` (summing to 1 per generation),
``distance``, the free parameters as dotted paths (natural scale) and each in-sample
target's simulated statistic as ``target:<name>`` (log10 of a ratio, or a month index).
The posterior is the last generation.

A sweep with ``[sweep] posterior = "posterior.parquet"`` gives replicate ``r`` of every
point the ``r``-th of ``replications`` weighted draws (with replacement, from the stream
``SeedSequence(experiment.seed, spawn_key=(POSTERIOR_SPAWN_KEY,))``): points that differ in
a design variable are paired on the same draw and the same seed (common random numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from aimarket.experiments.config import ConfigError

__all__ = [
    "POSTERIOR_SPAWN_KEY",
    "STAT_PREFIX",
    "draw_particles",
    "last_generation",
    "parameter_columns",
    "posterior_draws",
    "read_posterior",
    "summary",
]

#: Spawn key of the stream that draws particles for a posterior design.
POSTERIOR_SPAWN_KEY = 0x9057_E210
#: Prefix of the columns that hold a particle's simulated target statistics.
STAT_PREFIX = "target:"
_META = ("generation", "particle", "weight", "distance")


def read_posterior(path: str | Path) -> pl.DataFrame:
    """Read a ``posterior.parquet``; a missing or malformed file is a :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"sweep.posterior = {str(path)!r}: no such file; expected the posterior.parquet "
            "that `aimarket calibrate` writes"
        )
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a file that is not parquet
        raise ConfigError(f"sweep.posterior = {str(path)!r}: not a parquet file ({exc})") from None
    missing = [c for c in _META if c not in frame.columns]
    if missing or not parameter_columns(frame):
        raise ConfigError(
            f"sweep.posterior = {str(path)!r}: expected columns {', '.join(_META)} and at "
            f"least one parameter; missing {', '.join(missing) or 'parameters'}"
        )
    return frame


def parameter_columns(frame: pl.DataFrame) -> list[str]:
    """The free parameters' columns (dotted paths) of a posterior frame."""
    return [c for c in frame.columns if c not in _META and not c.startswith(STAT_PREFIX)]


def last_generation(frame: pl.DataFrame) -> pl.DataFrame:
    """The particles of the last generation: the posterior."""
    return frame.filter(pl.col("generation") == pl.col("generation").max())


def draw_particles(weights: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``(count,)`` indices into ``weights``, drawn with replacement in proportion to them.

    Examples
    --------
    >>> draw_particles(np.array([0.0, 1.0, 0.0]), 4, seed=1).tolist()
    [1, 1, 1, 1]
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0 or not np.all(w >= 0) or not w.sum() > 0:
        raise ConfigError("posterior weights: expected non-negative weights with a positive sum")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(POSTERIOR_SPAWN_KEY,)))
    return rng.choice(w.size, size=count, p=w / w.sum())


def posterior_draws(
    path: str | Path, count: int, seed: int, parameters: Sequence[str] | None = None
) -> tuple[dict[str, float], ...]:
    """``count`` weighted draws of the posterior's parameter values (replicate order).

    ``parameters`` keeps only those of the posterior's parameters (default: all); the
    particles drawn do not depend on it, so a subset is the same draws' marginal.
    """
    posterior = last_generation(read_posterior(path))
    params = parameter_columns(posterior)
    if parameters is not None:
        unknown = [p for p in parameters if p not in params]
        if unknown:
            raise ConfigError(
                f"sweep.posterior_parameters = {list(parameters)}: {', '.join(unknown)} "
                f"not in the posterior {str(path)!r}; expected some of {', '.join(params)}"
            )
        params = list(dict.fromkeys(parameters))
    rows = posterior.select(params).rows()
    picks = draw_particles(posterior["weight"].to_numpy(), count, seed)
    return tuple(dict(zip(params, map(float, rows[i]), strict=True)) for i in picks)


def summary(frame: pl.DataFrame, *, quantiles: Mapping[str, float] | None = None) -> pl.DataFrame:
    """Weighted posterior summary per parameter: mean, median, 5% and 95% quantiles.

    Examples
    --------
    >>> f = pl.DataFrame({"generation": [0, 0], "particle": [0, 1], "weight": [0.5, 0.5],
    ...                   "distance": [0.1, 0.2], "x": [1.0, 3.0]})
    >>> summary(f).row(0)
    ('x', 2.0, 1.0, 1.0, 3.0)
    """
    quantiles = quantiles or {"median": 0.5, "q05": 0.05, "q95": 0.95}
    posterior = last_generation(frame)
    w = posterior["weight"].to_numpy()
    w = w / w.sum()
    rows = []
    for name in parameter_columns(posterior):
        x = posterior[name].to_numpy().astype(float)
        order = np.argsort(x, kind="stable")
        cdf = np.cumsum(w[order])
        row = {"parameter": name, "mean": float(np.dot(w, x))}
        for label, q in quantiles.items():
            # the smallest value whose weighted cumulative share reaches q
            row[label] = float(x[order][min(np.searchsorted(cdf, q - 1e-12), x.size - 1)])
        rows.append(row)
    return pl.DataFrame(rows)
