"""The memory guard: a local sweep whose runs cannot fit is refused before anything runs, and
one whose workers do not all fit runs on fewer, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimarket.experiments import memory
from aimarket.experiments.cli import main
from aimarket.experiments.config import load_config
from aimarket.experiments.design import plan_runs
from aimarket.experiments.memory import available_memory_mib, fit_workers, run_memory_mib
from aimarket.experiments.store import Store

SWEEP = """
[experiment]
name = "memory-test"
seed = 3
replications = 1
horizon_months = 4

[model]
labs = 2
customers = 200

[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    return path


def _written(out: Path) -> tuple[int, int]:
    """Parquet parts and ledger lines in a store."""
    parts = len(list(out.glob("table=*/part-*.parquet")))
    lines = sum(len(p.read_text().splitlines()) for p in out.glob("ledger/*.jsonl"))
    return parts, lines


def test_available_memory_is_memavailable(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8388608 kB\nMemFree:  1024 kB\nMemAvailable:  2097152 kB\n")
    assert available_memory_mib(meminfo) == 2048.0
    meminfo.write_text("MemTotal:  8388608 kB\nMemFree:  1024 kB\n")  # kernels before 3.14
    assert available_memory_mib(meminfo) is None
    assert available_memory_mib(tmp_path / "missing") is None


def test_estimate_grows_with_customers_and_months() -> None:
    assert run_memory_mib(1_000, 120) < run_memory_mib(100_000, 120) < run_memory_mib(10**6, 120)
    assert run_memory_mib(10**6, 12) < run_memory_mib(10**6, 36) == run_memory_mib(10**6, 240)


def test_a_sweep_whose_runs_cannot_fit_is_refused(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(memory, "available_memory_mib", lambda: 100.0)
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--quiet", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    need = f"{run_memory_mib(200, 4):,.0f} MiB"
    assert err.startswith("aimarket: error: model.customers = 200: ")
    assert f"needs about {need} of memory and 100 MiB is available" in err
    assert "expected fewer customers" in err
    assert _written(out) == (0, 0)


def test_workers_that_do_not_fit_are_cut_with_a_warning(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    need = run_memory_mib(200, 4)
    monkeypatch.setattr(memory, "available_memory_mib", lambda: 1.5 * need)  # room for one
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--quiet", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())  # rich wraps lines
    assert f"warning: --workers 2: 2 runs at once need about {2 * need:,.0f} MiB" in err
    assert err.endswith("is available; using 1")
    assert "serial x1" in captured.out  # the summary: one worker, in this process
    assert Store(out).read("runs").height == 2


def test_fit_workers_keeps_the_workers_when_they_fit_or_memory_is_unknown(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, specs = plan_runs(load_config(config))
    warnings: list[str] = []
    monkeypatch.setattr(memory, "available_memory_mib", lambda: None)
    assert fit_workers(specs, 64, warnings.append) == 64
    monkeypatch.setattr(memory, "available_memory_mib", lambda: 4.01 * run_memory_mib(200, 4))
    assert fit_workers(specs, 4, warnings.append) == 4
    assert fit_workers(specs, 5, warnings.append) == 4
    assert len(warnings) == 1
    assert fit_workers([], 3, warnings.append) == 3  # nothing to run: nothing to check
