"""One writer at a time per store: a lock file naming its holder.

A sweep takes the lock of its scope for as long as it runs: ``all`` (a whole sweep, a
compaction, ``run`` replacing its tables) or ``shard-i-of-N`` (one job-array shard, so
the shards of one sweep can run at once). ``all`` conflicts with every other lock; a shard
conflicts with ``all``, with itself and with shards of another count. Locks live in
``OUT/.locks/<scope>.json`` and hold the host, pid, process start time and command of
their holder. A lock whose holder is provably gone (same host, no such process, or another
process now has its pid) is stale and taken over with a note; a lock from another host
cannot be checked and is broken only when the user says so (``--break-lock``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimarket.experiments.store import StoreError

__all__ = ["LOCK_DIR", "LockHolder", "StoreLock", "holders"]

LOCK_DIR = ".locks"


def _host() -> str:
    return socket.gethostname()


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a lock, as its file says."""

    path: Path
    scope: str
    host: str
    pid: int
    proc_start: str | None
    command: str
    since_utc: str

    def alive(self) -> bool | None:
        """True or False where it can be told (this host); None for another host."""
        if self.host != _host():
            return None
        if Path("/proc").is_dir():
            now = _proc_start(self.pid)
            return now is not None and (self.proc_start is None or now == self.proc_start)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        return f"{self.command!r} (pid {self.pid} on {self.host}, since {self.since_utc} UTC)"


def holders(root: Path) -> list[LockHolder]:
    """Every lock on the store at ``root`` (unreadable lock files count, as held by
    nobody known)."""
    out = []
    for path in sorted((root / LOCK_DIR).glob("*.json")):
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            data = {}
        out.append(
            LockHolder(
                path=path,
                scope=path.stem,
                host=str(data.get("host", "unknown host")),
                pid=int(data.get("pid", -1)),
                proc_start=data.get("proc_start"),
                command=str(data.get("command", "unknown command")),
                since_utc=str(data.get("since_utc", "unknown time")),
            )
        )
    return out


def _conflict(mine: str, theirs: str) -> bool:
    """Whether locks of scopes ``mine`` and ``theirs`` exclude each other.

    Examples
    --------
    >>> _conflict("shard-0-of-2", "shard-1-of-2"), _conflict("shard-0-of-2", "shard-1-of-4")
    (False, True)
    """
    if "all" in (mine, theirs) or mine == theirs:
        return True
    return mine.rsplit("-of-", 1)[-1] != theirs.rsplit("-of-", 1)[-1]


class StoreLock:
    """The lock of ``scope`` on the store at ``root``; a context manager.

    Raises :class:`StoreError` (one line naming the holder and what to do) if a live or
    uncheckable conflicting lock exists and ``break_lock`` is false. ``notes`` says what
    was taken over.
    """

    def __init__(self, root: Path, scope: str = "all", *, break_lock: bool = False) -> None:
        self.root = Path(root)
        self.scope = scope
        self.break_lock = break_lock
        self.notes: list[str] = []
        self._path = self.root / LOCK_DIR / f"{scope}.json"

    def __enter__(self) -> StoreLock:
        (self.root / LOCK_DIR).mkdir(parents=True, exist_ok=True)
        self._clear_conflicts()
        body = {
            "host": _host(),
            "pid": os.getpid(),
            "proc_start": _proc_start(os.getpid()),
            "command": " ".join(["aimarket", *sys.argv[1:]])[:300],
            "since_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise self._held(holders(self.root)) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(body, fh)
        # Two conflicting scopes taken at the same moment both see the other: both back off.
        rivals = [h for h in holders(self.root) if h.path != self._path]
        if any(_conflict(self.scope, h.scope) for h in rivals):
            self._path.unlink(missing_ok=True)
            raise self._held(rivals)
        return self

    def __exit__(self, *exc: object) -> None:
        self._path.unlink(missing_ok=True)

    def _clear_conflicts(self) -> None:
        for holder in holders(self.root):
            if not _conflict(self.scope, holder.scope):
                continue
            alive = holder.alive()
            if alive is False:
                self.notes.append(f"took over a stale lock of {holder.describe()}: not running")
            elif self.break_lock:
                self.notes.append(f"broke the lock of {holder.describe()} (--break-lock)")
            else:
                raise self._held([holder])
            holder.path.unlink(missing_ok=True)

    def _held(self, rivals: list[LockHolder]) -> StoreError:
        holder = next((h for h in rivals if _conflict(self.scope, h.scope)), None)
        who = holder.describe() if holder else "another command"
        return StoreError(
            f"{self.root}: in use by {who}; wait for it to finish, or pass --break-lock "
            "if it is no longer running"
        )
