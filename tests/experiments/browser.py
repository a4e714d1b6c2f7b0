"""Debian's headless Chromium for the browser tests (``.ci/run`` installs it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_browser(*modules: str) -> None:
    """Skip (fail, with ``AIMARKET_REQUIRE_BROWSER=1``) unless Chromium, ChromeDriver,
    selenium and ``modules`` are all there."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    for module in ("selenium", *modules):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the {module} package")
    if missing:
        reason = (
            f"headless browser test needs {', '.join(missing)} "
            "(apt-get install chromium chromium-driver; pip install -e '.[dev]')"
        )
        if os.environ.get("AIMARKET_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def headless_chrome(profile: Path, *, window: str) -> Any:
    """A headless Chromium driver that keeps the page's console log, with its own
    ``profile`` folder and a window of ``window`` (``"W,H"``) pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        f"--window-size={window}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
