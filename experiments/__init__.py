"""Many runs: configs, the store, the CLI (and, later, designs, executors and analysis)."""

from experiments.config import ConfigError, ExperimentConfig, load_config
from experiments.store import Store

__all__ = ["ConfigError", "ExperimentConfig", "Store", "load_config"]
