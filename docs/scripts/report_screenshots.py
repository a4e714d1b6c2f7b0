"""Screenshots of the regimes report for docs/walkthrough.md (``make screenshots``).

Makes (or finishes) the regimes sweep in ``runs/regimes``, writes its report, and saves
two crops of the page as rendered by headless Chromium (Debian's ``chromium`` and
``chromium-driver``, as the report's browser test uses): the answer (the question, the
paired differences in words and the side-by-side table) to ``docs/img/report_answer.png``
the first time series to ``docs/img/report_timeseries.png`` and the training and
inference spend to ``docs/img/report_spend.png``.

Usage: ``python docs/scripts/report_screenshots.py [--out runs/regimes]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "experiments" / "configs" / "regimes.toml"
IMG = ROOT / "docs" / "img"


def _aimarket(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "aimarket", *args], check=True)


def _shoot(page: Path, xpath: str, target: Path) -> None:
    """Save the (first) element at ``xpath`` of ``page`` as a PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1200,1800",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(page.resolve().as_uri())
            element = driver.find_element(By.XPATH, xpath)
            target.write_bytes(element.screenshot_as_png)
        finally:
            driver.quit()
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "regimes")
    args = parser.parse_args()
    resume = ["--resume"] if (args.out / "manifest.json").exists() else []
    _aimarket("sweep", str(CONFIG), "--out", str(args.out), "--quiet", *resume)
    _aimarket("report", str(args.out))
    page = args.out / "report.html"
    IMG.mkdir(parents=True, exist_ok=True)
    # Sections by their titles (their order changes as the report gains sections).
    _shoot(page, "(//section)[1]", IMG / "report_answer.png")
    concentration = "//section[h2='Concentration, prices and margins over time']//figure"
    _shoot(page, concentration, IMG / "report_timeseries.png")
    _shoot(page, "//section[h2='Training and inference spend']//figure", IMG / "report_spend.png")


if __name__ == "__main__":
    main()
