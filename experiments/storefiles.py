"""The files a store is made of: atomic writes, checksums, writer names and identities.

Every file a store writes goes through a temporary file and a rename (atomic on POSIX); a
part's file is recorded by its size and sha256 (:func:`file_record`) so that damage can be
found later (:func:`file_problem`).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "file_problem",
    "file_record",
    "first_line",
    "identity_hash",
    "manifest_identity",
    "write_json_atomic",
    "write_parquet_atomic",
]


def identity_hash(config: dict[str, Any]) -> str:
    """sha256 of what makes an experiment's runs what they are: the config as loaded
    (``model_dump(mode="json")``, or a manifest's ``config``) without ``[cluster]`` (where
    runs execute), ``experiment.replications`` (how many there are: more can be added to
    a store) and ``experiment.description`` (words). Two configs with the same identity
    plan the same runs.

    Examples
    --------
    >>> a = {"experiment": {"name": "x", "replications": 3}, "cluster": None}
    >>> b = {"experiment": {"name": "x", "replications": 9}, "cluster": {"jobs": 4}}
    >>> identity_hash(a) == identity_hash(b)
    True
    """
    core = {k: v for k, v in config.items() if k != "cluster"}
    core["experiment"] = {
        k: v
        for k, v in dict(core.get("experiment") or {}).items()
        if k not in ("replications", "description")
    }
    blob = json.dumps(core, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def write_parquet_atomic(frame: pl.DataFrame, path: Path, tmp_dir: Path) -> list:
    """Write parquet to ``path`` through a file in ``tmp_dir`` (same filesystem) and a
    rename; returns its ``[bytes, sha256]`` (:func:`file_record`)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name}.{uuid.uuid4().hex}"
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        record = file_record(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return record


def file_record(path: Path) -> list:
    """``[bytes, sha256 hex]`` of a file, as the ledger records a part's files."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return [size, digest.hexdigest()]


def file_problem(path: Path, size: int, digest: str | None) -> str | None:
    """What is wrong with a part's file against its record, or None."""
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if actual != size:
        return f"{actual:,} bytes, the ledger recorded {size:,} (cut short or replaced)"
    if digest is not None and file_record(path)[1] != digest:
        return "contents changed since written (checksum differs)"
    return None


def manifest_identity(manifest: dict[str, Any]) -> str | None:
    """A manifest's experiment identity (computed from its config for older stores)."""
    if "identity_sha256" in manifest:
        return str(manifest["identity_sha256"])
    config = manifest.get("config")
    return identity_hash(config) if isinstance(config, dict) else manifest.get("config_sha256")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
