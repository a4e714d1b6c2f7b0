"""Helpers shared by the benchmark scripts: machine facts and result files.

Importing this module pins numpy's and OpenBLAS's SIMD code as the ``aimarket`` command
does (:func:`experiments.numerics.pin_numerics`), so the scripts measure what a user runs;
each script imports it before anything that loads numpy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
from pathlib import Path
from typing import Any

from aimarket.experiments.numerics import pin_numerics, read_cpu_flags

pin_numerics()

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
        **cpu(),
    }


def cpu() -> dict[str, Any]:
    """The CPU's model name, whether it has AVX-512, and what the runs computed with
    (:func:`sim.run.numerics`). Times taken on different CPUs are not comparable: the
    same code ran the baseline in 1.04-1.10 s on an AVX2 machine (session 6) and in
    0.69-0.78 s on an AVX-512 one, pinned or not (session 7; docs/benchmarks.md)."""
    from aimarket.sim.run import numerics

    model = None
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None
            )
    except OSError:
        pass
    avx512 = "avx512f" in (read_cpu_flags() or set())
    return {"cpu_model": model, "cpu_avx512": avx512, "numerics": numerics()}


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
