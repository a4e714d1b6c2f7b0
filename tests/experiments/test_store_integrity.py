"""A store that checks itself: damaged parts are named and re-run, leftovers of killed
commands are never read and are removed, one writer at a time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from aimarket.experiments import maintenance
from aimarket.experiments.cli import main
from aimarket.experiments.locking import LOCK_DIR, _proc_start
from aimarket.experiments.store import Store

from .test_sweep import assert_same_store

CONFIG = """
[experiment]
name = "integrity"
seed = 5
replications = 3
horizon_months = {months}

[model]
labs = 2
customers = 200

[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


def write_config(tmp: Path, months: int = 4) -> Path:
    path = tmp / f"integrity-{months}.toml"
    path.write_text(CONFIG.format(months=months))
    return path


def sweep(cfg: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(cfg), "--out", str(out), "--quiet", "--workers", "1", *extra])


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished sweep (one run per part) and its config."""
    tmp = tmp_path_factory.mktemp("intact")
    cfg = write_config(tmp)
    assert sweep(cfg, tmp / "store") == 0
    return cfg, tmp / "store"


@pytest.fixture
def store(intact: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    cfg, source = intact
    out = tmp_path / "store"
    shutil.copytree(source, out)
    return cfg, out


def a_part(out: Path, table: str = "market") -> Path:
    return sorted((out / f"table={table}").glob("part-*.parquet"))[0]


def status(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    capsys.readouterr()
    assert main(["status", str(out), "--json", *extra]) in (0, 2)
    return json.loads(capsys.readouterr().out)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_missing_or_cut_part_is_named_refused_and_run_again(
    store: tuple[Path, Path], intact: tuple[Path, Path], damage: str, capsys
) -> None:
    cfg, out = store
    part = a_part(out)
    if damage == "delete":
        part.unlink()
    else:
        part.write_bytes(part.read_bytes()[:100])
    info = status(out, capsys)
    assert info["damaged"] == 1
    assert info["done"] == 5
    assert info["pending"] == 0
    assert str(part) in info["damaged_files"][0]
    for command in (["analyze", str(out)], ["compact", str(out)], ["report", str(out)]):
        assert main(command) == 2
        assert part.name in one_error_line(capsys)
    assert sweep(cfg, out, "--resume") == 0
    assert_same_store(intact[1], out)
    assert status(out, capsys)["damaged"] == 0
    assert main(["compact", str(out)]) == 0
    assert_same_store(intact[1], out)


def test_changed_contents_are_found_by_checksum_and_run_again(
    store: tuple[Path, Path], intact: tuple[Path, Path], capsys
) -> None:
    cfg, out = store
    part = a_part(out, "firms")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other contents
    part.write_bytes(bytes(data))
    assert status(out, capsys)["damaged"] == 0, "sizes alone cannot see it"
    capsys.readouterr()
    assert main(["verify", str(out)]) == 2
    assert part.name in capsys.readouterr().out
    assert sweep(cfg, out, "--resume") == 0
    assert main(["verify", str(out)]) == 0
    assert_same_store(intact[1], out)


def test_leftovers_of_killed_commands_are_never_read_and_are_removed(
    store: tuple[Path, Path], capsys
) -> None:
    _, out = store
    # A writer killed before its ledger line, a half-written temporary file, the old files
    # of an interrupted `run` replacement, and a truncated orphan.
    shutil.copy(a_part(out), out / "table=market" / "part-dead_1_x-000000.parquet")
    (out / "table=firms" / "part-dead_2_x-000000.parquet").write_bytes(b"PAR1 cut")
    (out / ".tmp" / "part-dead.parquet.1234").write_bytes(b"half")
    (out / ".aimarket-old-1234" / "ledger").mkdir(parents=True)
    (out / "notes.md").write_text("mine")
    market = Store(out).read("market")
    assert market.group_by("run_id", "month").len()["len"].max() == 1
    assert Store(out).read("firms").height > 0
    assert status(out, capsys)["leftovers_removed"] == 4
    assert (out / "notes.md").read_text() == "mine"
    raw = pl.read_parquet(out / "table=market" / "*.parquet")
    assert raw.group_by("run_id", "month").len()["len"].max() == 1
    assert raw["run_id"].n_unique() == 6
    assert not list((out / ".tmp").glob("*"))
    assert not list(out.glob(".aimarket-old-*"))


def test_a_compaction_killed_after_its_ledger_reads_each_run_once(
    store: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    _, out = store
    before = Store(out).read("market").sort("run_id", "month")
    real = Path.unlink

    def killed(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.suffix in (".jsonl", ".parquet") and "compact" not in self.name:
            raise KeyboardInterrupt  # killed while removing the old files
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt):
        maintenance.compact_store(out)
    monkeypatch.setattr(Path, "unlink", real)
    (out / LOCK_DIR / "all.json").unlink(missing_ok=True)  # a killed process leaves it
    after = Store(out).read("market").sort("run_id", "month")
    assert after.equals(before)
    assert status(out, capsys)["leftovers_removed"] > 0
    raw = pl.read_parquet(out / "table=market" / "*.parquet").sort("run_id", "month")
    assert raw.equals(before)


def _lock(out: Path, **holder: object) -> Path:
    (out / LOCK_DIR).mkdir(exist_ok=True)
    path = out / LOCK_DIR / "all.json"
    body = {"host": socket.gethostname(), "command": "aimarket sweep x", "since_utc": "then"}
    path.write_text(json.dumps({**body, **holder}))
    return path


def test_a_live_lock_refuses_a_second_writer(store: tuple[Path, Path], capsys) -> None:
    cfg, out = store
    _lock(out, pid=os.getpid(), proc_start=_proc_start(os.getpid()))
    parts = sorted(out.rglob("part-*.parquet"))
    capsys.readouterr()
    for command in (
        ["sweep", str(cfg), "--out", str(out), "--resume", "--quiet"],
        ["compact", str(out)],
    ):
        assert main(command) == 2
        assert f"pid {os.getpid()}" in one_error_line(capsys)
    assert sorted(out.rglob("part-*.parquet")) == parts


def test_a_lock_from_another_host_needs_break_lock(store: tuple[Path, Path], capsys) -> None:
    cfg, out = store
    _lock(out, host="elsewhere", pid=1)
    assert sweep(cfg, out, "--resume") == 2
    assert "--break-lock" in one_error_line(capsys)
    assert sweep(cfg, out, "--resume", "--break-lock") == 0
    assert "broke the lock" in capsys.readouterr().err
    assert not list((out / LOCK_DIR).glob("*.json"))


def test_a_stale_lock_of_a_dead_process_is_taken_over(store: tuple[Path, Path], capsys) -> None:
    cfg, out = store
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _lock(out, pid=dead.pid, proc_start="1")
    assert sweep(cfg, out, "--resume") == 0
    assert "stale lock" in capsys.readouterr().err


def test_two_sweeps_on_one_store_never_run_a_run_twice(tmp_path: Path) -> None:
    cfg, out = write_config(tmp_path, months=36), tmp_path / "out"
    exe = [sys.executable, "-m", "aimarket", "sweep", str(cfg), "--out", str(out), "--quiet"]
    first = subprocess.Popen([*exe, "--workers", "1"])
    try:
        deadline = time.monotonic() + 120
        while not (out / LOCK_DIR / "all.json").exists():
            assert first.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run([*exe, "--resume"], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert "in use by" in second.stderr
        assert first.wait(timeout=300) == 0
    finally:
        first.kill()
    ledger = Store(out).ledger()
    assert ledger.height == ledger["run_id"].n_unique() == 6
