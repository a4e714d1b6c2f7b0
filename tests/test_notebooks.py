"""The notebooks in docs/notebooks (jupytext percent format) run from start to end.

Each is executed as the Python script it is (``runpy``), in a temporary working
directory: the figure it saves must appear there.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "docs" / "notebooks").glob("*.py"))
#: What each notebook must leave in its working directory.
FIGURES = {"walkthrough.py": ["walkthrough_hhi.png"]}
PNG = b"\x89PNG\r\n\x1a\n"


def test_there_are_notebooks_and_each_is_in_percent_format() -> None:
    assert NOTEBOOKS, "no notebook in docs/notebooks"
    assert {p.name for p in NOTEBOOKS} >= set(FIGURES)
    for path in NOTEBOOKS:
        text = path.read_text()
        assert "format_name: percent" in text, path.name
        assert text.count("\n# %%") >= 2, f"{path.name}: fewer than two cells"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_saves_its_figure(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    for name in FIGURES.get(path.name, []):
        figure = tmp_path / name
        assert figure.is_file(), f"{path.name} saved no {name}"
        assert figure.read_bytes()[:8] == PNG
        assert figure.stat().st_size > 10_000  # a drawn figure, not an empty canvas
    assert not list(tmp_path.glob("*/manifest.json")), "the store belongs in a temporary folder"
