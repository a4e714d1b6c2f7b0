"""Many runs: configs, the store, the CLI, designs, executors and analysis.

The package's names load lazily, so importing a submodule that must run before numpy
(``experiments.numerics``) does not load numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ConfigError", "ExperimentConfig", "Store", "load_config"]

_HOME = {
    "ConfigError": "aimarket.experiments.config",
    "ExperimentConfig": "aimarket.experiments.config",
    "load_config": "aimarket.experiments.config",
    "Store": "aimarket.experiments.store",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
