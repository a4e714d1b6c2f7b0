"""CPU instructions of one baseline run, counted by valgrind: a figure that does not drift.

Wall time on a shared machine drifts by tens of percent within minutes
(docs/benchmarks.md), so two versions of the code are hard to compare by timing alone. The
number of instructions a run executes is the same on every measurement. It is not time
(a cache miss costs more than an addition), but a change that removes work shows here
without noise.

The script runs the baseline under ``valgrind --tool=cachegrind`` twice in parallel, once
with one run and once with two (each after imports and the config are loaded), and
reports the difference: one warm run, without imports and first-call costs, as
``bench/single_run.py`` times it. It takes about two minutes and needs valgrind on the
PATH (not a project dependency: ``apt install valgrind``); without it, it says so and
exits with status 2. numpy picks its SIMD code by the CPU valgrind emulates (AVX2 at
most), the same as on a machine without AVX-512.

Usage: ``python bench/instructions.py [--seed-index N]``. Prints the figures and writes
them to ``bench/results/instructions.json`` (and appends to its history).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from _common import report

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "configs" / "baseline.toml"

_CHILD = """
import sys
sys.path.insert(0, {root!r})
from aimarket.experiments.config import load_config
from aimarket.experiments.runner import base_point_specs
from aimarket.sim.run import run_one
spec = base_point_specs(load_config({config!r}))[{index}]
for _ in range({runs}):
    assert run_one(spec).status == "done"
"""


def _instructions(runs: int, index: int) -> subprocess.Popen[str]:
    code = _CHILD.format(root=str(ROOT), config=str(CONFIG), index=index, runs=runs)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
    valgrind.append("--cachegrind-out-file=/dev/null")
    return subprocess.Popen(
        [*valgrind, sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _total(proc: subprocess.Popen[str]) -> int:
    _, err = proc.communicate()
    match = re.search(r"I\s+refs:\s+([\d,]+)", err)
    if proc.returncode != 0 or match is None:
        raise SystemExit(f"valgrind failed (exit {proc.returncode}):\n{err[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed-index", type=int, default=0, help="which replication of the baseline (0-2)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt install valgrind", file=sys.stderr)
        raise SystemExit(2)
    one, two = _instructions(1, args.seed_index), _instructions(2, args.seed_index)
    with_one, with_two = _total(one), _total(two)
    figures = {
        "config": "experiments/configs/baseline.toml",
        "replicate": args.seed_index,
        "instructions_per_run": with_two - with_one,
        "instructions_first_run_with_imports": with_one,
    }
    report("instructions", figures)


if __name__ == "__main__":
    main()
