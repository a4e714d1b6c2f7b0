"""Sweeps: the same tables from every executor, resume after kill -9, failures recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from aimarket.experiments.cli import main
from aimarket.experiments.config import load_config
from aimarket.experiments.design import plan_runs, points_frame
from aimarket.experiments.manifest import build_manifest
from aimarket.experiments.outputs import open_store
from aimarket.experiments.store import Store
from aimarket.experiments.sweep import execute, parse_shard, select_shard

SWEEP = """
[experiment]
name = "sweep-test"
seed = 99
replications = 3
horizon_months = {months}

[model]
labs = 3
customers = {customers}

[sweep]
design = "grid"
[sweep.grid]
"hardware.price_performance_doubling_years" = [1.5, 3.0]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


def write_config(tmp_path: Path, months: int = 6, customers: int = 200) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(months=months, customers=customers))
    return path


def tables(out: Path) -> dict[str, pl.DataFrame]:
    """Every table of a store, sorted, without wall times."""
    store = Store(out)
    keys = {
        "runs": ["run_id"],
        "summary": ["run_id"],
        "market": ["run_id", "month"],
        "firms": ["run_id", "month", "firm_id"],
        "offers": ["run_id", "month", "model_id", "tier"],
        "models": ["run_id", "model_id"],
        "events": ["run_id", "time_months", "firm_id", "kind"],
    }
    out = {}
    for name, key in keys.items():
        frame = store.read(name).drop("wall_s", strict=False)
        assert frame.height > 0, name  # a table that is empty everywhere proves nothing
        out[name] = frame.sort([*key, *(c for c in frame.columns if c not in key)])
    return out


def assert_same_store(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for name in ta:
        assert_frame_equal(ta[name], tb[name])


def sweep(config: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(config), "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("serial")
    out = tmp / "serial"
    assert sweep(write_config(tmp), out, "--workers", "1") == 0
    return out


def test_serial_sweep_runs_every_point(serial_store: Path) -> None:
    runs = Store(serial_store).read("runs")
    assert runs.height == 4 * 3
    assert runs["status"].unique().to_list() == ["done"]
    points = Store(serial_store).points()
    assert points.height == 4
    assert "market.regime" in points.columns
    # Common random numbers: replicate r has the same seed at every point.
    by_rep = runs.group_by("replicate").agg(pl.col("spawn_key").n_unique())
    assert by_rep["spawn_key"].to_list() == [1, 1, 1]


def test_pool_matches_serial(serial_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "pool"
    assert sweep(write_config(tmp_path), out, "--workers", "2") == 0
    assert_same_store(serial_store, out)


def test_shards_match_serial(serial_store: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "shards"
    for i in range(3):
        assert sweep(config, out, "--workers", "1", "--shard", f"{i}/3") == 0
    assert_same_store(serial_store, out)


def test_dask_local_cluster_matches_serial(serial_store: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config = write_config(tmp_path)
    out = tmp_path / "dask"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert sweep(config, out, "--scheduler", cluster.scheduler_address) == 0
    assert_same_store(serial_store, out)


def test_cluster_table_starts_a_local_dask_cluster(serial_store: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    config = write_config(tmp_path)
    config.write_text(config.read_text() + '\n[cluster]\nkind = "local"\njobs = 2\n')
    out = tmp_path / "cluster"
    assert sweep(config, out) == 0
    # Same model and seeds, so the same tables as the serial store (its config differs only
    # in [cluster], which the manifest records).
    assert_same_store(serial_store, out)


def test_killed_dask_worker_still_yields_every_run_once(serial_store: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config = load_config(write_config(tmp_path, months=24, customers=1500))
    design, specs = plan_runs(config)
    out = tmp_path / "dask-kill"
    store = open_store(
        out,
        manifest=build_manifest(config, command="sweep"),
        points=points_frame(design),
        resume=False,
        shard=None,
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        reports = []
        thread = threading.Thread(
            target=lambda: reports.append(
                execute(specs, store, scheduler=cluster.scheduler_address)
            )
        )
        thread.start()
        deadline = time.monotonic() + 60
        while not any((out / "ledger").glob("*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)
        thread.join(timeout=180)
    assert reports, "the sweep finished"
    runs = Store(out).read("runs")
    assert sorted(runs["run_id"].to_list()) == sorted(s.run_id for s in specs)
    assert (runs["status"] == "done").all()
    market = Store(out).read("market")
    assert market.group_by("run_id", "month").len()["len"].max() == 1


def _kill_midway(cmd: list[str], out: Path, at_least: int) -> None:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            lines = (
                sum(len(p.read_text().splitlines()) for p in (out / "ledger").glob("*.jsonl"))
                if (out / "ledger").is_dir()
                else 0
            )
            if lines >= at_least or proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_then_resume_gives_the_uninterrupted_result(tmp_path: Path, workers: str) -> None:
    config = write_config(tmp_path, months=24, customers=1500)
    whole = tmp_path / "whole"
    assert sweep(config, whole, "--workers", "1") == 0
    out = tmp_path / "killed"
    exe = [
        sys.executable,
        "-m",
        "aimarket.experiments.cli",
        "sweep",
        str(config),
        "--out",
        str(out),
    ]
    _kill_midway([*exe, "--quiet", "--workers", workers], out, at_least=2)
    done_before = len(Store(out).done_run_ids())
    assert done_before < 12, "killed before the end"
    assert sweep(config, out, "--workers", "1") == 2, "no --resume: refused"
    assert sweep(config, out, "--workers", "1", "--resume") == 0
    assert_same_store(whole, out)
    runs = Store(out).read("runs")
    assert runs["run_id"].n_unique() == runs.height == 12


def test_raising_run_is_recorded_and_the_others_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import aimarket.sim.model  # noqa: F401
    from aimarket import sim

    real = sim.model.MarketModel

    def flaky(params, *, run_id, **kwargs):  # type: ignore[no-untyped-def]
        if run_id == "p000002-r0001":
            raise RuntimeError("injected failure")
        return real(params, run_id=run_id, **kwargs)

    monkeypatch.setattr(sim.model, "MarketModel", flaky)
    out = tmp_path / "flaky"
    assert sweep(write_config(tmp_path), out, "--workers", "1") == 1
    assert "run p000002-r0001 failed: RuntimeError: injected failure" in capsys.readouterr().err
    runs = Store(out).read("runs").sort("run_id")
    assert runs.height == 12
    failed = runs.filter(pl.col("status") == "failed")
    assert failed["run_id"].to_list() == ["p000002-r0001"]
    assert "injected failure" in failed["error"][0]
    assert Store(out).read("market")["run_id"].n_unique() == 11
    # Resume retries the failed run only.
    monkeypatch.setattr(sim.model, "MarketModel", real)
    assert sweep(write_config(tmp_path), out, "--workers", "1", "--resume") == 0
    assert (Store(out).read("runs")["status"] == "done").all()


def test_refuses_another_config_and_foreign_dirs(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "out"
    assert sweep(config, out, "--workers", "1") == 0
    capsys.readouterr()
    assert sweep(config, out, "--workers", "1", "--set", "model.labs=2", "--resume") == 2
    assert "holds another experiment" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x").write_text("x")
    assert sweep(config, foreign, "--workers", "1") == 2
    assert "not an aimarket store" in capsys.readouterr().err
    assert sweep(config, tmp_path / "new", "--shard", "3/3") == 2
    assert "expected i/N with 0 <= i < N" in capsys.readouterr().err


def test_status_and_compact(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "out"
    assert sweep(config, out, "--workers", "1", "--shard", "0/2") == 0
    capsys.readouterr()
    assert main(["status", str(out), "--json"]) == 0
    import json

    info = json.loads(capsys.readouterr().out)
    assert (info["planned"], info["done"], info["pending"], info["failed"]) == (12, 6, 6, 0)
    assert sweep(config, out, "--workers", "1", "--shard", "1/2") == 0
    before = tables(out)
    assert main(["compact", str(out)]) == 0
    assert len(list((out / "table=market").glob("*.parquet"))) == 1
    assert len(list((out / "ledger").glob("*.jsonl"))) == 1
    after = tables(out)
    for name in before:
        assert_frame_equal(before[name], after[name])


def test_shard_selection_partitions_the_plan() -> None:
    specs = list(range(10))
    parts = [select_shard(specs, parse_shard(f"{i}/3")) for i in range(3)]  # type: ignore[arg-type]
    assert sorted(x for p in parts for x in p) == specs


def test_slurm_job_script_from_cluster_table() -> None:
    jobqueue = pytest.importorskip("dask_jobqueue")
    from aimarket.experiments.cluster import cluster_kwargs
    from aimarket.experiments.config import ClusterSection

    section = ClusterSection(
        kind="slurm",
        jobs=4,
        cores=8,
        memory="16GB",
        walltime="02:00:00",
        account="econ",
        job_extra_directives=("--qos=normal",),
        job_script_prologue=("source ~/aimarket/.venv/bin/activate",),
    )
    with jobqueue.SLURMCluster(
        **cluster_kwargs(section), scheduler_options={"host": "127.0.0.1"}
    ) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --cpus-per-task=8" in script
    assert "#SBATCH -t 02:00:00" in script
    assert "#SBATCH -A econ" in script
    assert "#SBATCH --qos=normal" in script
    # The worker's numerics are pinned before it starts, then the config's own lines run.
    pin = script.index("export NPY_DISABLE_CPU_FEATURES=")
    assert pin < script.index("source ~/aimarket/.venv/bin/activate") < script.index("python")
