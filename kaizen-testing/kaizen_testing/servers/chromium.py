"""``chromium_driver``: a real headless Chromium driven by Selenium, for browser tests.

Uses Debian's ``chromium`` and ``chromium-driver`` packages (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; scripts/install-system-deps.sh installs them). Selenium's
own driver manager is never asked to download anything: the service is pointed at
the system chromedriver explicitly. A missing browser, driver or ``selenium`` is a
test *failure* with the install hint, never a skip.

Tests wait on DOM conditions (``WebDriverWait(driver, t).until(...)``), never sleep.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaizen_testing.servers._process import ServerUnavailable, find_program, serve_or_fail

__all__ = ["CHROMIUM_HINT", "ChromiumBrowser", "chromium_driver", "run_chromium"]

CHROMIUM_HINT = "run scripts/install-system-deps.sh (apt-get install -y chromium chromium-driver)"
_DEBIAN_DIRS = [Path("/usr/bin"), Path("/usr/lib/chromium")]


class ChromiumBrowser:
    """One headless Chromium session. ``driver`` is the Selenium WebDriver."""

    def __init__(self, directory: Path, *, width: int = 1200, height: int = 860) -> None:
        self.binary = find_program("chromium", CHROMIUM_HINT, _DEBIAN_DIRS)
        self.chromedriver = find_program("chromedriver", CHROMIUM_HINT, _DEBIAN_DIRS)
        self.directory = directory
        self.log = directory / "chromedriver.log"
        self.width = width
        self.height = height
        self.driver: Any = None

    def start(self) -> None:
        """Launch chromedriver and a headless Chromium with a throwaway profile."""
        try:
            from selenium import webdriver
            from selenium.common.exceptions import WebDriverException
            from selenium.webdriver.chrome.service import Service
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ServerUnavailable("selenium is not installed: pip install 'selenium>=4.30,<5'") from exc
        options = webdriver.ChromeOptions()
        options.binary_location = self.binary
        for arg in (
            "--headless=new",
            "--no-sandbox",  # containers run tests as root; Chromium refuses its sandbox there
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            # a test browser talks to the server under test only: no update checks, sync,
            # translation or other background requests, and no name resolves but loopback's
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            f"--user-data-dir={self.directory / 'profile'}",
            f"--window-size={self.width},{self.height}",
        ):
            options.add_argument(arg)
        service = Service(executable_path=self.chromedriver, log_output=str(self.log))
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as exc:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no log)"
            raise ServerUnavailable(f"Chromium did not start: {exc.msg}\n{tail}") from exc

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the current viewport to ``path`` (parents created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(target)):
            raise ServerUnavailable(f"Chromium could not write the screenshot {target}")
        return target

    def stop(self) -> None:
        """Quit the browser and chromedriver. Safe to call twice."""
        if self.driver is not None:
            self.driver.quit()
            self.driver = None


@contextlib.contextmanager
def run_chromium(*, width: int = 1200, height: int = 860) -> Iterator[ChromiumBrowser]:
    """A started :class:`ChromiumBrowser` with a temporary profile; quit on exit."""
    with tempfile.TemporaryDirectory(prefix="kaizen-chromium-") as tmp:
        browser = ChromiumBrowser(Path(tmp), width=width, height=height)
        browser.start()
        try:
            yield browser
        finally:
            browser.stop()


@pytest.fixture
def chromium_driver() -> Iterator[ChromiumBrowser]:
    """A fresh headless Chromium for one test: ``.driver`` (Selenium), ``.screenshot(path)``."""
    yield from serve_or_fail(run_chromium)
