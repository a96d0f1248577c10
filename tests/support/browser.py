"""Debian's headless Chromium, driven by its chromedriver through selenium (page tests).

A missing browser fails the test with the command that installs it: page tests never skip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1920,1080",
)


def require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"page tests need Debian's Chromium and its driver; missing: {', '.join(missing)}. "
            "Install them with `make system-packages` (as root: "
            "`apt-get install -y --no-install-recommends chromium chromium-driver`).",
            pytrace=False,
        )


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium with its own profile folder (so an empty localStorage)."""
    require_chromium()
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # the wall screens of a Finnish county: Accept-Language fi (the page follows it)
    options.add_argument("--lang=fi-FI")
    options.add_experimental_option("prefs", {"intl.accept_languages": "fi-FI,fi"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
