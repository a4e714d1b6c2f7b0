"""Helpers shared by the benchmark scripts: machine facts and result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=RESULTS.parent,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return {
        "when_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_sha": sha or None,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` and append it to ``<name>.history.jsonl``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {**machine(), **figures}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    with (RESULTS / f"{name}.history.jsonl").open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    return path


def report(name: str, figures: dict[str, Any], *, float_format: str = ".4g") -> Path:
    """Print ``figures`` one per line (floats as ``float_format``, integers with thousands
    separators) and :func:`save` them."""
    width = max(map(len, figures))
    for key, value in figures.items():
        if isinstance(value, float):
            shown = format(value, float_format)
        elif isinstance(value, int) and not isinstance(value, bool):
            shown = f"{value:,}"
        else:
            shown = str(value)
        print(f"{key:>{width}}: {shown}")
    path = save(name, figures)
    print(f"wrote {path}")
    return path
