"""Output directories: commands write only inside stores they made, never delete what they
did not write, keep a sweep's identity through [cluster] and replication changes, and fail
with one line instead of a traceback."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import polars as pl
import pytest

from aimarket.experiments.cli import main
from aimarket.experiments.store import Store

TINY = """
[experiment]
name = "{name}"
seed = 42
replications = {replications}
horizon_months = 4

[model]
labs = 2
customers = 200
{extra}
"""

SWEEP = """
[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


def config(tmp_path: Path, name: str = "tiny", replications: int = 2, extra: str = "") -> Path:
    path = tmp_path / f"{name}-{replications}-{abs(hash(extra))}.toml"
    path.write_text(TINY.format(name=name, replications=replications, extra=extra))
    return path


def run(cfg: Path, out: Path, *extra: str) -> int:
    return main(["run", str(cfg), "--out", str(out), "--quiet", "--workers", "1", *extra])


def sweep(cfg: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(cfg), "--out", str(out), "--quiet", "--workers", "1", *extra])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- run: safe output directories ---------------------------------------------------------


def test_rerun_keeps_the_users_files_and_replaces_only_its_tables(tmp_path: Path) -> None:
    cfg, out = config(tmp_path), tmp_path / "out"
    assert run(cfg, out) == 0
    (out / "notes.md").write_text("my notes")
    (out / "report.html").write_text("<html>an old report</html>")
    (out / "analysis").mkdir()
    (out / "analysis" / "hhi.csv").write_text("a,b\n1,2\n")
    (out / "table=market" / "README.txt").write_text("mine")
    before = Store(out).read("runs")
    assert run(cfg, out, "--seed", "7") == 0
    assert (out / "notes.md").read_text() == "my notes"
    assert (out / "report.html").read_text() == "<html>an old report</html>"
    assert (out / "analysis" / "hhi.csv").read_text() == "a,b\n1,2\n"
    assert (out / "table=market" / "README.txt").read_text() == "mine"
    after = Store(out).read("runs")
    assert set(after["seed_entropy"]) == {7}
    assert set(before["seed_entropy"]) == {42}
    assert after.height == 2
    assert not list(out.glob(".aimarket-old-*"))
    assert not list(tmp_path.glob(".out.partial-*"))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t, o: sweep(config(t, extra=SWEEP), o), id="a sweep store"),
        pytest.param(lambda t, o: run(config(t, name="other"), o), id="another experiment"),
        pytest.param(
            lambda t, o: (o.mkdir(), (o / "manifest.json").write_text('{"mine": 1}')),
            id="a manifest aimarket did not write",
        ),
    ],
)
def test_run_refuses_a_directory_that_is_not_its_own(
    tmp_path: Path, make, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    make(tmp_path, out)
    before = snapshot(out)
    capsys.readouterr()
    assert run(config(tmp_path), out) == 2
    assert "--out" in one_error_line(capsys)
    assert snapshot(out) == before


def test_interrupted_run_says_nothing_was_written_and_leaves_the_old_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = config(tmp_path), tmp_path / "out"
    assert run(cfg, out) == 0
    before = snapshot(out)
    from aimarket.experiments import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "execute", interrupted)
    capsys.readouterr()
    assert run(cfg, out, "--seed", "9") == 130
    line = one_error_line(capsys)
    assert "nothing was written" in line
    assert "kept" not in line
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".out.partial-*"))


def test_sweep_refuses_a_store_that_run_made_of_the_same_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = config(tmp_path, extra=SWEEP), tmp_path / "out"
    assert run(cfg, out) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert sweep(cfg, out, "--resume") == 2
    assert "aimarket run" in one_error_line(capsys)
    assert snapshot(out) == before


# -- a sweep's identity -------------------------------------------------------------------


def test_cluster_settings_and_more_replications_continue_the_same_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert sweep(config(tmp_path, extra=SWEEP), out) == 0
    cluster = '\n[cluster]\nkind = "local"\nwalltime = "04:00:00"\n'
    assert sweep(config(tmp_path, extra=SWEEP + cluster), out, "--resume") == 0
    worded = config(tmp_path, extra=SWEEP)
    worded.write_text(
        worded.read_text().replace("[experiment]", '[experiment]\ndescription = "Why?"')
    )
    assert sweep(worded, out, "--resume") == 0
    assert sweep(config(tmp_path, replications=3, extra=SWEEP), out, "--resume") == 0
    runs = Store(out).read("runs")
    assert runs.height == 2 * 3
    assert runs["run_id"].n_unique() == 6
    capsys.readouterr()
    assert main(["status", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["replications"], info["planned"], info["done"]) == (3, 6, 6)
    # Fewer replications than stored: nothing to do, nothing forgotten.
    assert sweep(config(tmp_path, replications=1, extra=SWEEP), out, "--resume") == 0
    assert Store(out).read("runs").height == 6
    # Anything else is another experiment.
    assert sweep(config(tmp_path, extra=SWEEP), out, "--resume", "--set", "model.labs=3") == 2


# -- clean errors -------------------------------------------------------------------------


def test_full_disk_is_one_line_and_finished_runs_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = config(tmp_path, extra=SWEEP), tmp_path / "out"
    real = pl.DataFrame.write_parquet
    parts: set[str] = set()

    def write(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        part = re.search(r"part-(.+?)\.parquet", str(path))
        parts.update([part.group(1)] if part else [])
        if len(parts) > 2:  # two runs' parts, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", write)
    assert sweep(cfg, out) == 2
    assert "No space left on device" in one_error_line(capsys)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real)
    assert len(Store(out).done_run_ids()) == 2
    assert not list((out / ".tmp").glob("*"))
    assert sweep(cfg, out, "--resume") == 0
    assert Store(out).read("runs").height == 4


def test_unwritable_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert sweep(config(tmp_path, extra=SWEEP), blocker / "sub") == 2
    assert str(blocker) in one_error_line(capsys)


def test_damaged_metadata_and_bad_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert sweep(config(tmp_path, extra=SWEEP), out) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--month", "3"]) == 2
    assert "--how month" in one_error_line(capsys)
    assert main(["analyze", str(out), "--csv", str(tmp_path / "missing" / "x.csv")]) == 2
    assert "does not exist" in one_error_line(capsys)
    (out / "points.parquet").rename(tmp_path / "points.parquet")
    assert main(["analyze", str(out)]) == 2
    assert "points.parquet" in one_error_line(capsys)
    (tmp_path / "points.parquet").rename(out / "points.parquet")
    (out / "manifest.json").write_text('{"tool": "aimarket", "config": ')
    for command in (["status", str(out)], ["sweep", str(config(tmp_path)), "--out", str(out)]):
        assert main(command) == 2
        assert "manifest.json" in one_error_line(capsys)


def test_compare_on_a_store_without_runs_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    cfg = config(tmp_path, extra=SWEEP)
    assert sweep(cfg, out, "--shard", "0/1") == 0
    for path in (out / "ledger").glob("*.jsonl"):
        path.unlink()
    targets = Path(__file__).resolve().parents[2] / "experiments" / "targets" / "history.toml"
    capsys.readouterr()
    assert main(["compare", str(out), str(targets)]) == 2
    assert "no finished runs" in one_error_line(capsys)
    assert main(["analyze", str(out)]) == 2
    assert "no finished runs" in one_error_line(capsys)
    assert main(["report", str(out)]) == 2
    assert "no finished runs" in one_error_line(capsys)


def test_internal_errors_are_one_line_unless_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aimarket.experiments import cli

    def broken(*args, **kwargs):
        raise RuntimeError("an injected bug")

    monkeypatch.setattr(cli, "execute", broken)
    cfg = config(tmp_path, extra=SWEEP)
    assert sweep(cfg, tmp_path / "a") == 1
    assert "an injected bug" in one_error_line(capsys)
    with pytest.raises(RuntimeError, match="an injected bug"):
        sweep(cfg, tmp_path / "b", "--debug")


def test_the_end_summary_has_a_row_per_design_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sweep(config(tmp_path, extra=SWEEP), tmp_path / "out") == 0
    printed = capsys.readouterr().out
    assert "0: market.regime=upfront_heavy" in printed
    assert "1: market.regime=inference_heavy" in printed


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("aimarket ")
