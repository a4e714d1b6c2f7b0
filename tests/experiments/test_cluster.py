"""Cluster runs match local runs: `aimarket worker` starts pinned Dask workers, and a sweep
refuses workers whose numerics differ from its own, before submitting and per batch."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aimarket.experiments import cluster as cluster_module
from aimarket.experiments.cli import main
from aimarket.experiments.config import load_config
from aimarket.experiments.design import plan_runs
from aimarket.experiments.executors import run_batch
from aimarket.experiments.numerics import NUMPY_DISABLE
from aimarket.sim import run as sim_run

from .test_sweep import tables

LHS = """
[experiment]
name = "cluster-test"
seed = 7
replications = 2
horizon_months = 12

[model]
labs = 3
customers = 300

[sweep]
design = "lhs"
samples = 8
[sweep.ranges]
"demand.elasticity" = [1.03, 1.25]
"hardware.price_performance_doubling_years" = [1.5, 3.0]
"""

# numpy at its x86-64 baseline and OpenBLAS's SSE4.2 kernels: numerics that differ from the
# pin (X86_V3 and Haswell, or auto without AVX2) on every x86-64 CPU numpy 2.4 runs on.
OTHER_NUMERICS = {
    "NPY_DISABLE_CPU_FEATURES": f"X86_V3 {NUMPY_DISABLE}",
    "OPENBLAS_CORETYPE": "Nehalem",
}
FAKE = "numpy 0.0 PRETEND, OpenBLAS pretend"
X86 = platform.machine().lower() in {"x86_64", "amd64"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "lhs.toml"
    path.write_text(LHS)
    return path


def _written(out: Path) -> tuple[int, int]:
    """Parquet parts and ledger lines in a store."""
    parts = len(list(out.glob("table=*/part-*.parquet")))
    lines = sum(len(p.read_text().splitlines()) for p in out.glob("ledger/*.jsonl"))
    return parts, lines


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------- per batch


def test_run_batch_with_other_numerics_runs_and_writes_nothing(
    config: Path, tmp_path: Path
) -> None:
    _, specs = plan_runs(load_config(config))
    out = tmp_path / "never-made"
    statuses = run_batch(specs[:2], str(out), expected_numerics=FAKE)
    assert [s.status for s in statuses] == ["refused", "refused"]
    assert statuses[0].error is not None
    assert f"computes with {sim_run.numerics()!r}, expected {FAKE!r}" in statuses[0].error
    assert statuses[1].error is not None
    assert statuses[1].error.endswith(f"refused run {specs[1].run_id}")
    assert not out.exists()


# ------------------------------------------------------------------------- in-process Dask


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[tuple[str, str]]:
    """A one-worker LocalCluster: (scheduler address, worker address). Its worker computes
    with this process's numerics (it inherits the environment)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        (worker,) = cluster.scheduler_info["workers"]
        yield cluster.scheduler_address, worker


def test_workers_with_other_numerics_are_refused_before_anything_is_submitted(
    local_cluster: tuple[str, str],
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scheduler, worker = local_cluster
    real = sim_run.numerics()
    monkeypatch.setattr(sim_run, "numerics", lambda: FAKE)  # this process's, not the worker's
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--quiet", "--scheduler", scheduler]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        f"aimarket: error: Dask worker {worker} computes with {real!r}, expected {FAKE!r}; "
        f"start workers with `aimarket worker {scheduler}` (docs/cluster.md)"
    )
    assert _written(out) == (0, 0)


def test_a_worker_that_joins_with_other_numerics_stops_the_sweep(
    local_cluster: tuple[str, str],
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scheduler, worker = local_cluster
    monkeypatch.setattr(sim_run, "numerics", lambda: FAKE)
    # The worker joins after the check before submitting: only its batches can tell.
    monkeypatch.setattr(cluster_module, "check_numerics", lambda *args, **kwargs: None)
    out = tmp_path / "out"
    assert main(["sweep", str(config), "--out", str(out), "--quiet", "--scheduler", scheduler]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"aimarket: error: Dask worker {worker} computes with ")
    assert f", expected {FAKE!r}, and refused run p0" in line
    assert line.endswith(f"; start workers with `aimarket worker {scheduler}` (docs/cluster.md)")
    assert _written(out) == (0, 0)


# ------------------------------------------------------------------------- aimarket worker


class _Replaced(BaseException):
    """What the fake ``os.execve`` raises: the real one does not return either."""


@pytest.mark.skipif(os.name != "posix", reason="exec replaces the process on POSIX only")
def test_aimarket_worker_becomes_a_pinned_dask_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    for name in ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE"):
        monkeypatch.delenv(name, raising=False)  # as in this process, unpinned
    started: list[tuple[str, list[str], dict[str, str]]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        started.append((path, argv, env))
        raise _Replaced

    monkeypatch.setattr(os, "execve", execve)
    with pytest.raises(_Replaced):
        main(["worker", "tcp://10.0.0.1:8786", "--nworkers", "4", "--nthreads", "1"])
    ((path, argv, env),) = started
    assert path == sys.executable
    assert argv == [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        "tcp://10.0.0.1:8786",
        "--nworkers",
        "4",
        "--nthreads",
        "1",
    ]
    if X86:
        assert env["NPY_DISABLE_CPU_FEATURES"] == NUMPY_DISABLE
    assert env["PATH"] == os.environ["PATH"]


def test_aimarket_worker_without_dask_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert main(["worker", "tcp://10.0.0.1:8786"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        "aimarket: error: aimarket worker: Dask is not installed; "
        "expected pip install 'aimarket[dask]'"
    )


# ------------------------------------------------------------------------- real processes


@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[tuple[str, Callable[..., None]]]:
    """A `dask scheduler` on loopback, and a function that starts workers on it (a command
    line and an environment) and waits until that many are connected. Every process is
    killed at the end, with whatever it started."""
    distributed = pytest.importorskip("distributed")
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], name: str, env: dict[str, str] | None = None) -> None:
        with (logs / f"{name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            )

    scheduler_file = tmp_path / "scheduler.json"
    try:
        start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            "scheduler",
        )
        deadline = time.monotonic() + 120
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]

        def add_workers(cmd: list[str], n: int, env: dict[str, str] | None = None) -> None:
            for _ in range(n):
                directory = tmp_path / f"worker-{len(processes)}"
                extra = ["--nthreads", "1", "--no-dashboard", "--local-directory", str(directory)]
                start([*cmd, address, *extra], f"worker-{len(processes)}", env)
            with distributed.Client(address, timeout="60s") as client:
                client.wait_for_workers(n, timeout=180)

        yield address, add_workers
    finally:
        for proc in processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _aimarket(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aimarket", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_a_sweep_on_aimarket_workers_gives_the_serial_sweeps_tables(
    dask_processes: tuple[str, Callable[..., None]], config: Path, tmp_path: Path
) -> None:
    address, add_workers = dask_processes
    add_workers([sys.executable, "-m", "aimarket", "worker"], 2)
    on_dask = _aimarket(
        "sweep", str(config), "--out", str(tmp_path / "dask"), "--quiet", "--scheduler", address
    )
    assert on_dask.returncode == 0, on_dask.stderr
    serial = _aimarket(
        "sweep", str(config), "--out", str(tmp_path / "serial"), "--quiet", "--workers", "1"
    )
    assert serial.returncode == 0, serial.stderr
    on_dask_tables, serial_tables = tables(tmp_path / "dask"), tables(tmp_path / "serial")
    assert on_dask_tables["runs"].height == 16
    for name, frame in serial_tables.items():
        assert on_dask_tables[name].equals(frame), name
    assert on_dask_tables["runs"]["numerics"].n_unique() == 1


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="process groups")
@pytest.mark.skipif(not X86, reason="the numerics forced on the worker are x86-64's")
def test_a_plain_dask_worker_with_other_numerics_is_refused(
    dask_processes: tuple[str, Callable[..., None]], config: Path, tmp_path: Path
) -> None:
    address, add_workers = dask_processes
    env = {k: v for k, v in os.environ.items() if k != "NPY_ENABLE_CPU_FEATURES"}
    add_workers([sys.executable, "-m", "distributed.cli.dask_worker"], 1, {**env, **OTHER_NUMERICS})
    out = tmp_path / "out"
    result = _aimarket("sweep", str(config), "--out", str(out), "--quiet", "--scheduler", address)
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("aimarket: error: Dask worker tcp://127.0.0.1:")
    assert "computes with 'numpy " in line
    assert " X86_V2, OpenBLAS Nehalem', expected 'numpy " in line
    assert line.endswith(f"start workers with `aimarket worker {address}` (docs/cluster.md)")
    assert _written(out) == (0, 0)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_a_calibration_on_aimarket_workers_gives_the_serial_posterior(
    dask_processes: tuple[str, Callable[..., None]], tmp_path: Path
) -> None:
    import polars as pl

    from .test_calibrate import _config, _targets_file, _toml

    address, add_workers = dask_processes
    add_workers([sys.executable, "-m", "aimarket", "worker"], 2)
    (tmp_path / "c.toml").write_text(_toml(_config(particles=5, populations=2)))
    targets = _targets_file(tmp_path / "t.toml", 3e7)
    common = ["calibrate", str(tmp_path / "c.toml"), str(targets), "--quiet"]
    on_dask = _aimarket(*common, "--out", str(tmp_path / "dask"), "--scheduler", address)
    assert on_dask.returncode == 0, on_dask.stderr
    serial = _aimarket(*common, "--out", str(tmp_path / "serial"), "--workers", "1")
    assert serial.returncode == 0, serial.stderr
    for name in ("posterior.parquet", "generations.parquet"):
        assert pl.read_parquet(tmp_path / "dask" / name).equals(
            pl.read_parquet(tmp_path / "serial" / name)
        ), name
    assert (tmp_path / "dask" / "coverage.csv").read_text() == (
        tmp_path / "serial" / "coverage.csv"
    ).read_text()
