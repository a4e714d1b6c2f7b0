"""Tests for the ``aimarket econ`` subcommand (experiments/econ.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aimarket.experiments import econ
from aimarket.markets.costs import serving_cost
from aimarket.markets.hardware import GPUS
from aimarket.markets.scaling import compute_optimal

REPO = Path(__file__).resolve().parents[1]

GOOD = {
    "compute-optimal": (
        ["compute-optimal", "--flop", "5.76e23", "--constants", "hoffmann2022"],
        {"params", "tokens", "tokens_per_param", "loss"},
    ),
    "inference-optimal": (
        [
            "inference-optimal",
            "--params",
            "13e9",
            "--tokens",
            "2.6e11",
            "--inference-tokens",
            "2e12",
        ],
        {"params", "tokens", "total_flop", "baseline_total_flop", "saving_frac"},
    ),
    "training-cost": (
        ["training-cost", "--flop", "3.8e25", "--gpu", "H100", "--mfu", "0.35", "--gpus", "16384"],
        {"usd", "gpu_hours", "months"},
    ),
    "serving-cost": (
        ["serving-cost", "--params", "70e9", "--batch", "1", "--gpu", "h100"],
        {"usd_per_mtok", "latency_ms_per_token", "bound"},
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_command_prints_json_with_its_keys(name: str, capsys) -> None:
    argv, keys = GOOD[name]
    assert econ.main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data = json.loads(out)
    assert set(data) == keys


def test_values_come_from_the_markets_functions(capsys) -> None:
    econ.main(GOOD["compute-optimal"][0])
    data = json.loads(capsys.readouterr().out)
    n, d = compute_optimal(5.76e23, constants="hoffmann2022")
    assert data["params"] == n
    assert data["tokens_per_param"] == pytest.approx(d / n)

    econ.main(GOOD["serving-cost"][0])
    data = json.loads(capsys.readouterr().out)
    h100 = GPUS["h100"]
    s = serving_cost(
        70e9,
        batch=1,
        peak_flop_per_s=h100.peak_flop_per_s,
        mem_bw_bytes_per_s=h100.mem_bw_bytes_per_s,
        mem_bytes=h100.mem_bytes,
        usd_per_gpu_hour=2.0,  # the CLI default (calibration.md "H100 rental")
    )
    assert data["usd_per_mtok"] == pytest.approx(s.usd_per_token * 1e6)
    assert data["latency_ms_per_token"] == pytest.approx(s.latency_s_per_token * 1e3)
    assert data["bound"] == "memory"

    econ.main(["serving-cost", "--params", "7e9", "--batch", "100000"])
    assert json.loads(capsys.readouterr().out)["bound"] == "compute"


BAD = [
    (["compute-optimal", "--flop", "-1"], "--flop", "'-1'"),
    (["compute-optimal", "--flop", "0"], "--flop", "'0'"),
    (["compute-optimal", "--flop", "abc"], "--flop", "'abc'"),
    (["compute-optimal", "--flop", "inf"], "--flop", "'inf'"),
    (["compute-optimal", "--flop", "nan"], "--flop", "'nan'"),
    (["compute-optimal", "--flop=-1e24"], "--flop", "'-1e24'"),
    (["compute-optimal", "--flop", "1e24", "--constants", "gpt"], "--constants", "'gpt'"),
    (
        ["inference-optimal", "--params", "1e9", "--tokens", "2e10", "--inference-tokens", "-5"],
        "--inference-tokens",
        "'-5'",
    ),
    (["training-cost", "--flop", "1e24", "--gpu", "tpu"], "--gpu", "'tpu'"),
    (["training-cost", "--flop", "1e24", "--mfu", "1.5"], "--mfu", "'1.5'"),
    (["training-cost", "--flop", "1e24", "--mfu", "0"], "--mfu", "'0'"),
    (["training-cost", "--flop", "1e24", "--gpus", "-8"], "--gpus", "'-8'"),
    (["serving-cost", "--params", "7e9", "--batch", "0"], "--batch", "'0'"),
    (
        ["serving-cost", "--params", "7e9", "--batch", "4", "--gpus-per-node", "2.5"],
        "--gpus-per-node",
        "'2.5'",
    ),
    (
        ["serving-cost", "--params", "7e9", "--batch", "4", "--usd-per-gpu-hour", "-2"],
        "--usd-per-gpu-hour",
        "'-2'",
    ),
    (["serving-cost", "--params", "7e9"], "--batch", "required"),
    (["frobnicate"], "frobnicate", "invalid choice"),
    ([], "COMMAND", "required"),
]


@pytest.mark.parametrize(("argv", "option", "detail"), BAD)
def test_bad_input_exits_2_with_one_line(argv, option: str, detail: str, capsys) -> None:
    assert econ.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("aimarket econ: ")
    assert option in lines[0]
    assert detail in lines[0]
    assert "Traceback" not in err


def test_error_message_format() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aimarket.experiments.econ", "compute-optimal", "--flop", "-1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "aimarket econ: --flop: expected a positive finite number, got '-1'\n"


def test_module_runs_standalone_and_prints_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aimarket.experiments.econ", "compute-optimal", "--flop", "1e24"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == {"params", "tokens", "tokens_per_param", "loss"}


def test_add_parser_registers_econ_on_a_parent_cli(capsys) -> None:
    parser = argparse.ArgumentParser(prog="aimarket")
    sub = parser.add_subparsers(dest="command", required=True)
    econ.add_parser(sub)
    args = parser.parse_args(["econ", "training-cost", "--flop", "1e24", "--gpu", "a100"])
    assert args.func(args) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"usd", "gpu_hours", "months"}
    # Value errors inside the econ sub-subcommands keep the one-line format and status 2.
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["econ", "compute-optimal", "--flop", "-3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == "aimarket econ: --flop: expected a positive finite number, got '-3'\n"


def test_help_exits_zero(capsys) -> None:
    assert econ.main(["--help"]) == 0
    assert "compute-optimal" in capsys.readouterr().out


def test_run_parsed_is_the_parent_cli_entry(capsys) -> None:
    # experiments/cli.py dispatches with econ.run_parsed(args).
    parser = argparse.ArgumentParser(prog="aimarket")
    econ.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["econ", "serving-cost", "--params", "7e9", "--batch", "8"])
    assert args.func is econ.run_parsed
    assert econ.run_parsed(args) == 0
    assert json.loads(capsys.readouterr().out)["bound"] == "memory"
