"""Output directories: which ones a command may write to, and how ``run`` replaces its own.

A store is a directory whose ``manifest.json`` names ``aimarket`` as its maker (stores made
before the manifest said so are recognised by their ``config_sha256``). Commands write
only inside stores they made and delete only files a store's layout names as its own
(:func:`own_files`); a user's notes, CSV exports or reports inside a store are left alone.

- ``sweep`` creates a store in a new or empty directory, or continues (``--resume``, or
  another shard) the store of the same experiment: same identity
  (:func:`aimarket.experiments.manifest.identity_hash`; ``[cluster]`` and the number of
  replications may change, and more replications are added) and made by ``sweep``.
- ``run`` builds a complete new store beside ``--out`` and moves it in; an existing
  ``--out`` must be a store that ``run`` made of the same experiment name, and only its
  own files are replaced.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from aimarket.experiments.config import ConfigError
from aimarket.experiments.locking import StoreLock
from aimarket.experiments.store import MANIFEST, TOOL, Store, write_json_atomic
from aimarket.experiments.storefiles import manifest_identity

__all__ = ["open_store", "own_files", "replace_run_store", "store_identity"]

T = TypeVar("T")


def store_identity(manifest: dict[str, Any]) -> str | None:
    """A manifest's experiment identity (computed from its config for older stores)."""
    return manifest_identity(manifest)


def _is_ours(manifest: dict[str, Any]) -> bool:
    return manifest.get("tool") == TOOL or (
        "tool" not in manifest and "config_sha256" in manifest and "config" in manifest
    )


def _check_dir(out: Path, flag: str = "--out") -> dict[str, Any] | None:
    """The manifest of the store at ``out``; None if ``out`` is missing or empty; refuses
    a file or a directory that is not an aimarket store."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{flag} {out}: is a file, expected a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return None
    if not Store.is_store(out):
        raise ConfigError(
            f"{flag} {out}: is a non-empty directory that is not an aimarket store; "
            "expected a new or empty directory"
        )
    manifest = Store(out).manifest()
    if not _is_ours(manifest):
        raise ConfigError(
            f"{flag} {out}: its {MANIFEST} was not written by aimarket; "
            "expected a new or empty directory"
        )
    return manifest


def open_store(
    out: Path,
    *,
    manifest: dict[str, Any],
    points: pl.DataFrame,
    resume: bool,
    shard: tuple[int, int] | None,
) -> Store:
    """Create the sweep store at ``out``, or open it to resume or to add a shard.

    Refuses (``ConfigError``): ``out`` is a file; a non-empty directory that is not a
    store; a store of another experiment, or one ``run`` made; this experiment's store
    without ``--resume`` (shards need none). More replications than the store has are
    recorded in its manifest (the runs are added).
    """
    existing = _check_dir(out)
    if existing is not None:
        if store_identity(existing) != manifest["identity_sha256"]:
            theirs = str(existing.get("config_sha256"))[:12]
            raise ConfigError(
                f"--out {out}: holds another experiment "
                f"({existing.get('experiment')!r}, config {theirs}); "
                "expected this config's store or a new directory"
            )
        if existing.get("command") == "run":
            raise ConfigError(
                f"--out {out}: holds `aimarket run` output of this config (its base point "
                "only); expected a sweep store or a new directory"
            )
        if not resume and shard is None:
            done = len(Store(out).done_run_ids())
            raise ConfigError(
                f"--out {out}: already holds this sweep ({done} runs done); "
                "pass --resume to finish it, or choose a new --out"
            )
    try:
        store = Store.create(out, manifest, points)
    except FileExistsError as exc:
        raise ConfigError(f"--out {out}: {exc}") from None
    _record_replications(store, manifest)
    return store


def _record_replications(store: Store, manifest: dict[str, Any]) -> None:
    """Record in the store's manifest more replications than it has, and a changed
    description (neither changes the experiment's identity)."""
    mine = manifest["config"]["experiment"]
    stored = store.manifest()
    theirs = stored["config"]["experiment"]
    more = int(mine["replications"]) > int(theirs["replications"])
    worded = mine.get("description", "") != theirs.get("description", "")
    if not (more or worded):
        return
    experiment = {**theirs, "description": mine.get("description", "")}
    updated = dict(stored)
    if more:
        experiment["replications"] = int(mine["replications"])
        history = list(stored.get("replications_added", []))
        history.append(
            {"replications": experiment["replications"], "utc": manifest.get("created_utc")}
        )
        updated["replications_added"] = history
    updated["config"] = {**stored["config"], "experiment": experiment}
    write_json_atomic(store.root / MANIFEST, updated)


def own_files(root: Path) -> Iterator[Path]:
    """The files of the store at ``root`` that its layout names as the store's own."""
    for name in (MANIFEST, "points.parquet"):
        if (root / name).is_file():
            yield root / name
    yield from sorted((root / "ledger").glob("*.jsonl"))
    yield from sorted(root.glob("table=*/part-*.parquet"))
    yield from sorted((root / ".tmp").glob("*"))


def replace_run_store(out: Path, experiment: str, build: Callable[[Path], T]) -> T:
    """Build a complete new store with ``build(tmp)`` in a hidden sibling of ``out``, then
    move it in. ``out`` may be missing, empty, or a store ``run`` made of ``experiment``;
    of the latter only the store's own files are replaced (a user's files stay).

    An interrupted build leaves ``out`` as it was.
    """
    existing = _check_dir(out)
    if existing is not None and (
        existing.get("command") != "run" or existing.get("experiment") != experiment
    ):
        raise ConfigError(
            f"--out {out}: holds another experiment ({existing.get('experiment')!r}, made "
            f"by `aimarket {existing.get('command')}`); expected a new or empty directory, "
            f"or a store `aimarket run` made of {experiment!r}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # exclusively: the folder removed below is one this call made
    try:
        result = build(tmp)
        shutil.rmtree(tmp / ".tmp", ignore_errors=True)
        if existing is None:
            if out.is_dir():
                out.rmdir()  # empty: checked above
            tmp.rename(out)
        else:
            with StoreLock(out):
                _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # made here: ours
    return result


def _swap_in(new: Path, out: Path) -> None:
    """Move the old store's own files aside, the new store's in, then drop the old ones.
    The ledger goes first out and last in, so a crash in between leaves a store that
    reads either nothing or the new runs, never a mixture."""
    aside = out / f".aimarket-old-{uuid.uuid4().hex[:8]}"
    old = sorted(own_files(out), key=lambda p: p.parent.name != "ledger")
    for path in old:
        target = aside / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    fresh = sorted(own_files(new), key=lambda p: (p.name == MANIFEST, p.parent.name == "ledger"))
    for path in fresh:
        target = out / path.relative_to(new)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    for name in ("ledger", *(p.name for p in new.glob("table=*"))):
        (out / name).mkdir(exist_ok=True)
    shutil.rmtree(aside)  # only files moved there above
