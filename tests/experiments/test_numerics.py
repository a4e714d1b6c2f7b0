"""The numerics pin: what it sets, when it stays out of the way, that `aimarket` runs under
it, and that a store mixing numerics says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimarket.experiments import numerics
from aimarket.experiments.cli import main
from aimarket.experiments.numerics import (
    NUMPY_DISABLE,
    pin_numerics,
    pinned_variables,
    shell_exports,
)
from aimarket.experiments.store import Store

TINY = """
[experiment]
name = "tiny"
seed = 42
replications = 2
horizon_months = 4

[model]
labs = 2
customers = 200
"""

# numpy's dispatch targets that use AVX-512 (written out, not taken from the module tested)
_ABOVE_AVX2 = {"X86_V4", "AVX512_ICL", "AVX512_SPR"}
_VARIABLES = (
    "NPY_DISABLE_CPU_FEATURES",
    "NPY_ENABLE_CPU_FEATURES",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OMP_NUM_THREADS",
)


def _cpu_has(*flags: str) -> bool:
    cpu = numerics.read_cpu_flags()
    return cpu is not None and set(flags) <= cpu


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _VARIABLES}


@pytest.mark.parametrize(
    ("environ", "flags", "expected"),
    [
        ({}, {"avx2", "fma", "avx512f"}, {"NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE"}),
        ({}, {"sse4_2"}, {"NPY_DISABLE_CPU_FEATURES"}),  # no AVX2: OpenBLAS's own choice
        ({"NPY_ENABLE_CPU_FEATURES": "X86_V3"}, {"avx2", "fma"}, {"OPENBLAS_CORETYPE"}),
        ({"OPENBLAS_CORETYPE": "Zen"}, {"avx2", "fma"}, {"NPY_DISABLE_CPU_FEATURES"}),
        ({"NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": ""}, {"avx2", "fma"}, set()),
    ],
)
def test_pinned_variables_leave_the_users_alone(
    environ: dict[str, str], flags: set[str], expected: set[str]
) -> None:
    threads = {"OPENBLAS_NUM_THREADS"}  # one BLAS thread everywhere, unless the user says
    assert set(pinned_variables(environ, machine="x86_64", cpu_flags=flags)) == expected | threads
    assert set(pinned_variables(environ, machine="arm64", cpu_flags=flags)) == threads
    mine = {**environ, "OPENBLAS_NUM_THREADS": "4"}
    assert set(pinned_variables(mine, machine="x86_64", cpu_flags=flags)) == expected


def test_pin_is_a_no_op_once_numpy_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert "numpy" in sys.modules
    assert pin_numerics() is False
    assert not any(name in os.environ for name in _VARIABLES)


def test_job_script_lines_pass_the_users_choice_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    lines = shell_exports()
    assert lines[0] == f"export NPY_DISABLE_CPU_FEATURES='{NUMPY_DISABLE}'"
    assert "grep -qw avx2 /proc/cpuinfo" in lines[1]  # decided on the node, not here
    monkeypatch.setenv("NPY_ENABLE_CPU_FEATURES", "X86_V3")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    assert lines[2] == "export OPENBLAS_NUM_THREADS='1'"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    assert shell_exports() == [
        "export NPY_ENABLE_CPU_FEATURES='X86_V3'",
        "export OPENBLAS_CORETYPE='Zen'",
        "export OPENBLAS_NUM_THREADS='8'",
    ]


def test_a_fresh_process_computes_at_the_pinned_level() -> None:
    code = (
        "from aimarket.experiments.numerics import pin_numerics\n"
        "assert pin_numerics()\n"
        "from aimarket.sim.run import numerics\n"
        "print(numerics())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_clean_env(), check=True
    ).stdout.strip()
    numpy_part, blas_part = out.split(", ")
    assert numpy_part.split()[-1] not in _ABOVE_AVX2, out
    assert blas_part == ("OpenBLAS Haswell" if _cpu_has("avx2", "fma") else "OpenBLAS auto")


def test_aimarket_records_its_numerics_and_status_reports_them(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "aimarket", "run", str(config), "--out", str(out), "--quiet"],
        env=_clean_env(),
        check=True,
        capture_output=True,
    )
    recorded = Store(out).read("runs")["numerics"].unique().to_list()
    assert len(recorded) == 1
    assert recorded[0].split(",")[0].split()[-1] not in _ABOVE_AVX2
    status = subprocess.run(
        [sys.executable, "-m", "aimarket", "status", str(out), "--json"],
        env=_clean_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(status.stdout)["numerics"] == {recorded[0]: 2}


def test_a_store_that_mixes_numerics_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import aimarket.sim.run  # noqa: F401
    from aimarket import sim

    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "mixed"
    args = ["sweep", str(config), "--out", str(out), "--quiet", "--workers", "1"]
    monkeypatch.setattr(sim.run, "numerics", lambda: "numpy 2.4.6 X86_V3, OpenBLAS Haswell")
    assert main([*args, "--shard", "0/2"]) == 0
    assert "warning" not in capsys.readouterr().out
    monkeypatch.setattr(sim.run, "numerics", lambda: "numpy 2.4.6 AVX512_ICL, OpenBLAS auto")
    assert main([*args, "--shard", "1/2"]) == 0
    warning = "this store's runs were computed with different numerics"
    assert warning in " ".join(capsys.readouterr().out.split())  # rich wraps lines
    assert main(["status", str(out)]) == 0
    assert warning in " ".join(capsys.readouterr().out.split())


def test_a_store_from_before_numerics_were_recorded_still_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import polars as pl

    from aimarket.experiments.maintenance import store_numerics

    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "old"
    args = ["sweep", str(config), "--out", str(out), "--quiet", "--workers", "1"]
    assert main([*args, "--shard", "0/2"]) == 0
    # What an earlier version wrote: a runs part without the numerics column.
    (part,) = (out / "table=runs").glob("part-*.parquet")
    pl.read_parquet(part).drop("numerics").write_parquet(part)
    for ledger in (out / "ledger").glob("*.jsonl"):  # nor did it record its parts' files
        lines = ledger.read_text().splitlines()
        ledger.write_text("".join(f"{x}\n" for x in lines if '"files"' not in x))
    assert main([*args, "--shard", "1/2", "--resume"]) == 0
    capsys.readouterr()
    runs = Store(out).read("runs").sort("run_id")
    assert runs.height == 2
    assert runs["numerics"].null_count() == 1
    assert set(store_numerics(Store(out))) == {"not recorded", runs["numerics"].drop_nulls()[0]}


def test_the_blas_thread_count_is_part_of_the_numerics(monkeypatch: pytest.MonkeyPatch) -> None:
    # a product split across threads sums in another order: runs must say how they ran
    import aimarket.sim.run as run

    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        run.numerics.cache_clear()
        assert "threads" not in run.numerics()
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # read before OMP_NUM_THREADS
        run.numerics.cache_clear()
        assert run.numerics().endswith(" on 4 threads")
        monkeypatch.delenv("OPENBLAS_NUM_THREADS")
        monkeypatch.delenv("OMP_NUM_THREADS")
        run.numerics.cache_clear()
        assert run.numerics().endswith(" on a thread per core")
    finally:
        monkeypatch.undo()
        run.numerics.cache_clear()
