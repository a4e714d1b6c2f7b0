"""Local worker processes: they die with the sweep that started them (kill -9 included), and
more of them than cores warns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aimarket.experiments import sweep as sweep_module
from aimarket.experiments.cli import main
from aimarket.experiments.store import Store

LINUX = sys.platform.startswith("linux")
linux_only = pytest.mark.skipif(not LINUX, reason="finds processes through /proc")

SWEEP = """
[experiment]
name = "processes-test"
seed = 5
replications = {replications}
horizon_months = {months}

[model]
labs = 3
customers = {customers}

[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


def write_config(tmp_path: Path, *, replications: int, months: int, customers: int) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(replications=replications, months=months, customers=customers))
    return path


# ------------------------------------------------------------------------- /proc helpers


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name: state, ppid, ... (None if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _identity(pid: int) -> tuple[int, str] | None:
    """A process as (pid, start time): a pid the kernel reuses is another process."""
    stat = _stat(pid)
    return None if stat is None else (pid, stat[19])


def _alive(process: tuple[int, str]) -> bool:
    """Running, as opposed to gone or a zombie nobody has reaped yet."""
    stat = _stat(process[0])
    return stat is not None and stat[19] == process[1] and stat[0] not in {"Z", "X"}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and int(stat[1]) == pid:
            out.append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ledger_lines(out: Path) -> int:
    ledger = out / "ledger"
    if not ledger.is_dir():
        return 0
    return sum(len(p.read_text().splitlines()) for p in ledger.glob("*.jsonl"))


def _wait_until_gone(processes: list[tuple[int, str]], timeout_s: float) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout_s
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in processes if _alive(p)]


def _kill_all(processes: list[tuple[int, str]]) -> None:
    for process in processes:
        if _alive(process):
            os.kill(process[0], signal.SIGKILL)


# ------------------------------------------------------------------------- tests


@pytest.mark.slow
@linux_only
def test_pool_workers_die_when_the_sweep_is_killed_with_sigkill(tmp_path: Path) -> None:
    config = write_config(tmp_path, replications=30, months=24, customers=2000)  # 60 runs
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "aimarket", "sweep", str(config), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers: list[tuple[int, str]] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            pids = [p for p in _children(proc.pid) if "spawn_main" in _cmdline(p)]
            workers = [i for i in map(_identity, pids) if i is not None]
            if len(workers) == 2 and _ledger_lines(out) >= 1:  # both running batches
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert len(workers) == 2, workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(Store(out).done_run_ids()) < 60, "killed mid-sweep"
        assert _wait_until_gone(workers, timeout_s=60) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_all(workers)


def _pdeathsig_of_child_after(code: str) -> int:
    """The parent-death signal of a fresh Python process after it runs ``code``."""
    probe = (
        f"{code}\n"
        "import ctypes, signal\n"
        "value = ctypes.c_int(-1)\n"
        "ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG\n"
        "print(value.value)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return int(out.stdout.strip())


@linux_only
def test_a_pool_worker_asks_linux_to_kill_it_with_its_parent() -> None:
    assert _pdeathsig_of_child_after("pass") == 0  # not inherited, not the default
    code = "import os\nfrom aimarket.experiments.executors import die_with_parent\n"
    assert _pdeathsig_of_child_after(code + "die_with_parent(os.getppid())") == signal.SIGKILL


@pytest.mark.skipif(os.name != "posix", reason="needs os.getppid and SIGKILL")
def test_without_prctl_a_thread_ends_the_orphaned_worker(tmp_path: Path) -> None:
    # The grandchild runs the fallback (prctl made unavailable); its parent is then killed.
    grandchild = (
        "import os, sys, time\n"
        "from aimarket.experiments import executors\n"
        "executors._kill_with_parent = lambda: False\n"
        "executors.die_with_parent(os.getppid())\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {grandchild!r}])\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    orphan: list[tuple[int, str]] = []
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())  # the grandchild is past die_with_parent
        identity = _identity(pid) if LINUX else (pid, "")
        orphan = [identity] if identity is not None else []
        proc.kill()
        proc.wait()
        if LINUX:
            assert _wait_until_gone(orphan, timeout_s=60) == []
        else:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the orphaned worker is still running")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if LINUX:
            _kill_all(orphan)


def test_a_worker_whose_parent_is_already_gone_exits() -> None:
    code = (
        "from aimarket.experiments.executors import die_with_parent\n"
        "die_with_parent(-1)  # not this process's parent: it died before the pool began\n"
        "print('still running')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "still running" not in out.stdout


def test_more_workers_than_cores_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, replications=1, months=4, customers=200)  # 2 runs
    args = ["sweep", str(config), "--quiet"]
    monkeypatch.setattr(sweep_module, "default_workers", lambda: 1)  # a one-core machine
    assert main([*args, "--out", str(tmp_path / "one"), "--workers", "1"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    err = " ".join(capsys.readouterr().err.split())  # rich wraps lines
    assert "warning: --workers 2: more than the 1 cores this process may use" in err
    assert err.count("warning") == 1
