"""The layers contract (markets <- agents <- sim <- experiments) holds and can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("markets", "agents", "sim", "experiments")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_layers_contract_is_kept() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Layers: markets <- agents <- sim <- experiments KEPT" in done.stdout


def test_layers_contract_catches_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "aimarket").mkdir()
    shutil.copy(ROOT / "aimarket" / "__init__.py", tmp_path / "aimarket" / "__init__.py")
    for pkg in PACKAGES:  # the layout of the repository: top-level folders, linked in
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
        (tmp_path / "aimarket" / pkg).symlink_to(Path("..") / pkg)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "markets" / "metrics.py").open("a") as fh:
        fh.write("\nimport aimarket.sim.params  # noqa: E402\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
