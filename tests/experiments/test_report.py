"""``aimarket report``: a self-contained HTML page, checked as text and in headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them). Without them it is skipped with the reason, unless ``AIMARKET_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where their absence fails it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError
from aimarket.experiments.report import write_report

SWEEP = """
[experiment]
name = "report-test"
seed = 3
replications = 2
horizon_months = 8

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

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


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


def test_report_is_self_contained(grid_report: Path) -> None:
    page = grid_report.read_text()
    images = _images(page)
    assert len(images) >= 7  # HHI, CR4, price, margins, spend, mix, entry/exit
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # Nothing to fetch: no remote scripts, styles, fonts or images.
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)
    assert "<script" not in page
    for heading in (
        "Concentration and prices over time",
        "Margins by business model",
        "Training and inference spend",
        "Business-model mix",
        "Entry and exit",
        "Manifest",
        "Summary by design point",
    ):
        assert heading in page
    assert "market.regime=upfront_heavy" in page
    assert "20261123" not in page  # the seed shown is the store's own
    assert ">3<" in page  # seed 3 in the manifest table


def test_sobol_design_adds_sensitivity_bars(sobol_report: Path) -> None:
    page = sobol_report.read_text()
    assert "Sensitivity" in page
    assert "Sensitivity of hhi_revenue_mean (sobol design)" in page


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


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = (
            f"headless browser test needs {', '.join(missing)} "
            "(apt-get install chromium chromium-driver)"
        )
        if os.environ.get("AIMARKET_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("which", ["grid_report", "sobol_report"])
def test_report_renders_in_headless_chromium(which: str, request, tmp_path: Path) -> None:
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    report: Path = request.getfixturevalue(which)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1600",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(report.resolve().as_uri())
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
    assert len(sizes) >= 7
    for complete, width, height, shown_w, shown_h in sizes:
        assert complete
        assert min(width, height, shown_w, shown_h) > 0
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("AIMARKET_SCREENSHOT_DIR")
    if keep:  # CI keeps the screenshots with its logs
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
