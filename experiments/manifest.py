"""What a store records about how it was made: config, hash, seed, versions, git sha."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from aimarket.experiments.config import ExperimentConfig, config_hash
from aimarket.experiments.store import TOOL, identity_hash

__all__ = ["build_manifest", "git_sha", "identity_hash", "package_versions"]

_PACKAGES = ("aimarket", "numpy", "simpy", "mesa", "polars", "pydantic", "dataframely")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run's numbers depend on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_sha() -> str | None:
    """The source checkout's commit (with ``-dirty`` if modified), or None outside git."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def build_manifest(
    config: ExperimentConfig, *, command: str, config_path: str | None = None
) -> dict[str, Any]:
    """The manifest of a new store."""
    dumped = config.model_dump(mode="json")
    return {
        "format": 1,
        "tool": TOOL,
        "experiment": config.experiment.name,
        "command": command,
        "config_path": config_path,
        "config": dumped,
        "config_sha256": config_hash(config),
        "identity_sha256": identity_hash(dumped),
        "seed": config.experiment.seed,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_sha": git_sha(),
        "packages": package_versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "argv": sys.argv,
    }
