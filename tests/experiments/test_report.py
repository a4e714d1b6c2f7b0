"""``aimarket report``: a self-contained HTML page, checked as text and in headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them). Without them it is skipped with the reason, unless ``AIMARKET_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where their absence fails it.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError
from aimarket.experiments.report import write_report

from .browser import headless_chrome, require_browser

SWEEP = """
[experiment]
name = "report-test"
seed = 3
replications = 2
horizon_months = 8
description = "Does the regime change concentration?"

[model]
labs = 3
customers = 200

[sweep]
design = "{design}"
{body}
"""
GRID_BODY = """[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]"""
SOBOL_BODY = """samples = 4
[sweep.ranges]
"demand.elasticity" = [1.5, 4.0]
"finance.lab_opex_usd_per_month" = [1e7, 3e8]"""


def _store(root: Path, design: str, body: str) -> Path:
    config = root / f"{design}.toml"
    config.write_text(SWEEP.format(design=design, body=body))
    out = root / design
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def grid_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = _store(tmp_path_factory.mktemp("grid"), "grid", GRID_BODY)
    return write_report(out)


@pytest.fixture(scope="module")
def sobol_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = _store(tmp_path_factory.mktemp("sobol"), "sobol", SOBOL_BODY)
    return write_report(out)


def _images(page: str) -> list[str]:
    return re.findall(r"<img [^>]*src='([^']*)'", page)


def _plot_data(page: str) -> list[dict]:
    found = re.findall(r"<script type='application/json' id='plot-data'>(.*?)</script>", page)
    assert len(found) == 1
    return json.loads(found[0].replace("<\\/", "</"))


def _outside_bounds(data: list[dict]) -> list[tuple[str, float]]:
    """Plotted interval ends outside their metric's bounds."""
    bad = []
    for entry in data:
        lo, hi = entry["bounds"]
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        bad += [(entry["figure"], v) for v in entry["values"] if not lo <= v <= hi]
    return bad


def test_report_is_self_contained(grid_report: Path) -> None:
    page = grid_report.read_text()
    images = _images(page)
    assert len(images) >= 10  # HHI, CR4, price, margin, users, tokens, margins by model, spend,
    # mix, entry/exit
    assert "Demand over time" in page
    assert "Compute capacity over time" in page
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # Nothing to fetch: no remote scripts, styles, fonts or images; nothing executed.
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ["<script type='application/json' id='plot-data'>"]
    for heading in (
        "Answer",
        "Concentration, prices and margins over time",
        "Margins by business model",
        "Training and inference spend",
        "Business-model mix",
        "Entry and exit",
        "Manifest",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "market.regime=upfront_heavy" in page
    assert "20261123" not in page  # the seed shown is the store's own
    assert ">3<" in page  # seed 3 in the manifest table


def test_report_answers_the_question_side_by_side(grid_report: Path) -> None:
    page = grid_report.read_text()
    assert "Does the regime change concentration?" in page
    headline = re.search(r"<table class='headline'>(.*?)</table>", page, re.S)
    assert headline is not None
    assert "point 0" in headline.group(1)
    assert "point 1" in headline.group(1)
    assert "hhi_revenue_mean" in headline.group(1)
    # In plain words: point 1 against point 0, with an interval and a p-value.
    assert "against point 0" in page
    assert re.search(r"HHI of revenue, mean over months[^<]*vs[^<]*\[[^<]*\], p = ", page)
    # Two replications: the page says the intervals rest on too few.
    assert "Only 2 replication(s)" in page


def test_intervals_behind_the_plots_stay_within_their_bounds(grid_report: Path) -> None:
    data = _plot_data(grid_report.read_text())
    metrics = {entry["metric"] for entry in data}
    assert {"hhi_revenue", "cr4", "gross_margin", "revenue_share"} <= metrics
    assert sum(len(e["values"]) for e in data) > 100
    assert _outside_bounds(data) == []


def test_sobol_design_adds_sensitivity_bars(sobol_report: Path) -> None:
    page = sobol_report.read_text()
    assert "<h2>Sensitivity to the design&#x27;s parameters</h2>" in page
    assert "first order S1" in page
    assert "against its most influential parameters" in page
    # A large design's answer names each output's most influential parameter.
    answer = page[page.index("<h2>Answer</h2>") : page.index("<h2>Sensitivity")]
    assert "depends most on <b>" in answer
    assert "total Sobol index" in answer
    text = re.sub(r"base64,[^']*|<script.*?</script>", "", page, flags=re.S)
    assert not re.search(r"\d\.\d{7,}", text), "no raw 15-digit numbers"


def test_a_latin_hypercube_is_answered_by_rank_correlations(tmp_path: Path) -> None:
    body = SOBOL_BODY.replace("samples = 4", "samples = 10")
    page = write_report(_store(tmp_path, "lhs", body)).read_text()
    assert "Spearman" in page
    assert re.search(r"depends most on <b>[^<]+</b> \(Spearman ρ = -?[0-9.]+\)", page)


def test_a_one_run_store_gets_a_report(tmp_path: Path, capsys) -> None:
    config = tmp_path / "one.toml"
    config.write_text(
        '[experiment]\nname = "one"\nseed = 1\nreplications = 1\nhorizon_months = 6\n'
        "[model]\nlabs = 2\ncustomers = 150\n"
    )
    out = tmp_path / "one"
    assert main(["run", str(config), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == out / "report.html"
    assert len(_images(path.read_text())) >= 7


def test_report_refuses_a_directory_that_is_not_a_store(tmp_path: Path, capsys) -> None:
    with pytest.raises(ConfigError, match="not an aimarket store"):
        write_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    assert "not an aimarket store" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["grid_report", "sobol_report"])
def test_report_renders_in_headless_chromium(which: str, request, tmp_path: Path) -> None:
    require_browser()
    report: Path = request.getfixturevalue(which)
    driver = headless_chrome(tmp_path / "profile", window="1200,1600")
    try:
        driver.get(report.resolve().as_uri())
        headline = driver.execute_script(
            "return document.querySelectorAll('table.headline tr').length"
        )
        plotted = json.loads(
            driver.execute_script("return document.getElementById('plot-data').textContent")
        )
        sizes = driver.execute_script(
            "return Array.from(document.images).map(i => "
            "[i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width,"
            " i.getBoundingClientRect().height])"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        shot = tmp_path / f"{which}.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert errors == []
    assert _outside_bounds(plotted) == []
    assert plotted
    if which == "grid_report":
        assert headline > 2
    assert len(sizes) >= 7
    for complete, width, height, shown_w, shown_h in sizes:
        assert complete
        assert min(width, height, shown_w, shown_h) > 0
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("AIMARKET_SCREENSHOT_DIR")
    if keep:  # CI keeps the screenshots with its logs
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_a_store_without_demand_columns_still_gets_a_report(grid_report: Path) -> None:
    # Stores written before demand grew (issue 18) have no users or tokens columns: the
    # report leaves the demand section out instead of failing.
    from aimarket.experiments.analysis import scan
    from aimarket.experiments.report import _plots
    from aimarket.experiments.report_plots import Figures

    out = grid_report.parent
    market = scan(out, "market").collect()
    firms = scan(out, "firms").collect()
    labels = {int(p): str(p) for p in market["point_id"].unique()}
    # Written before demand grew: no users (of any kind), tokens or serving columns.
    before = market.drop("users", "paying_users", "free_users", "tokens", "served_frac")
    old = "".join(_plots(Figures(labels), before, firms))
    assert "Demand over time" not in old
    assert "Compute capacity over time" not in old  # written before capacity: no section
    assert "Concentration, prices and margins over time" in old
    now = "".join(_plots(Figures(labels), market, firms))
    assert "Demand over time" in now
    assert "Compute capacity over time" in now


def test_paying_users_are_plotted_only_where_free_plans_had_users(grid_report: Path) -> None:
    # Where nobody used a free plan every user pays and the users plot says it all;
    # where free plans had users, the report adds the paying ones.
    from aimarket.experiments.analysis import scan
    from aimarket.experiments.report import _plots
    from aimarket.experiments.report_plots import Figures

    market = scan(grid_report.parent, "market").collect()
    firms = scan(grid_report.parent, "firms").collect()
    labels = {int(p): str(p) for p in market["point_id"].unique()}
    caption = "customers who paid for AI"
    no_free = market.with_columns(free_users=pl.lit(0.0), paying_users=pl.col("users"))
    assert caption not in "".join(_plots(Figures(labels), no_free, firms))
    with_free = market.with_columns(
        free_users=pl.col("users") / 2, paying_users=pl.col("users") / 2
    )
    assert caption in "".join(_plots(Figures(labels), with_free, firms))


def test_research_is_plotted_with_training_where_labs_paid_for_it(grid_report: Path) -> None:
    # Where labs paid for research, the spend plot adds R&D (final runs plus research),
    # which, accumulated per run, is at least the final runs' spend.
    from aimarket.experiments.analysis import scan
    from aimarket.experiments.report import _plots
    from aimarket.experiments.report_plots import Figures

    market = scan(grid_report.parent, "market").collect()
    firms = scan(grid_report.parent, "firms").collect()
    labels = {int(p): str(p) for p in market["point_id"].unique()}
    caption = "the final runs plus the labs"  # (the caption is HTML-escaped)
    assert market["research_spend_usd"].sum() > 0
    assert caption in "".join(_plots(Figures(labels), market, firms))
    before = market.drop("research_spend_usd")  # a store from before research compute
    assert caption not in "".join(_plots(Figures(labels), before, firms))
