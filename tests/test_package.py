"""``aimarket`` is one import package: a user's own modules named like its layers do not
shadow it, and ``python -m aimarket`` is the ``aimarket`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LAYERS = ("markets", "agents", "sim", "experiments")


def test_own_modules_named_like_a_layer_do_not_shadow_aimarket(tmp_path: Path) -> None:
    for name in LAYERS:  # a user's own sim.py etc. in the working directory
        (tmp_path / f"{name}.py").write_text("raise ImportError('the user module was imported')\n")
    code = (
        "from aimarket.experiments.analysis import scan\n"
        "from aimarket.sim import ModelParams\n"
        "import aimarket.markets.demand, aimarket.agents.customers\n"
        "print(scan.__module__, ModelParams.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["aimarket.experiments.analysis", "aimarket.sim.params"]


def test_python_dash_m_aimarket_is_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aimarket", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: aimarket" in done.stdout
