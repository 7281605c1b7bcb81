"""Browser tests: the app served by `python -m app serve` on a free port, driven by Debian's Chromium.

Any console error or uncaught page error fails the test that caused it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from db.embedded import with_database
from tests.app_process import free_port, wait_until_healthy
from tests.database_fixtures import TEST_SECRET_KEY, drop_database, make_database

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Every context a test makes asks for Chinese (Accept-Language and navigator.language), the site's default and
    # what most tests assert, unless it passes its own `locale=` (e.g. "en-GB"): Chromium's own default is en-US,
    # which now gets the English pages.
    "--accept-lang=zh-CN",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(ROOT / "e2e"):
            item.add_marker(pytest.mark.e2e)


def chromium_executable() -> str:
    path = os.environ.get("CHROME_PATH") or "/usr/bin/chromium"
    # Debian's /usr/bin/chromium is a shell wrapper; Playwright wants the browser binary itself.
    real = Path("/usr/lib/chromium/chromium")
    if path == "/usr/bin/chromium" and real.exists():
        return str(real)
    return path


class LiveServer:
    # The one this test session serves (e2e.helpers reads its log for the texted sign-up codes).
    running: LiveServer | None = None

    def __init__(self, url: str, database_url: str, env: dict[str, str]) -> None:
        self.url = url
        self.database_url = database_url
        self.env = env

    @property
    def log(self) -> Path:
        """What `python -m app serve` writes, the SMS `log` backend's lines included."""
        return Path(self.env["DATA_DIR"]) / "server.log"


@pytest.fixture(scope="session")
def live_server(
    pg_server_dsn: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    port = free_port()
    database = make_database(pg_server_dsn, template_database)
    database_url = with_database(pg_server_dsn, database)
    data_dir = tmp_path_factory.mktemp("e2e-data")
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": TEST_SECRET_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": url,
        "PUSH_ALLOWED_HOSTS": "127.0.0.1",
        "WEB_WORKERS": "1",
        # Every browser test signs up from 127.0.0.1: more than a real address asks in an hour.
        "SIGNUP_STARTS_PER_ADDRESS": "1000",
        # As servers usually run: in UTC. Every time a page shows must still be Beijing time (the browser is there).
        "TZ": "UTC",
    }
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_healthy(url, process, log)
        LiveServer.running = LiveServer(url, database_url, env)
        yield LiveServer.running
    finally:
        LiveServer.running = None
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        drop_database(pg_server_dsn, database)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=args)
    yield browser
    browser.close()


class ConsoleWatch:
    """Collects console errors and uncaught exceptions of every page in a context."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """A test that provokes an error on purpose (a 400 for bad input) names it here."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(fragment in e for fragment in self.allowed)]

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location}")


@pytest.fixture
def console_watch() -> ConsoleWatch:
    return ConsoleWatch()


# What Chromium logs for requests made while offline (the inbox badge, the draft, the push key).
OFFLINE_NOISE = ("ERR_INTERNET_DISCONNECTED", "htmx:sendError", "htmx:afterRequest", "Failed to fetch")


@pytest.fixture
def offline_ok(console_watch: ConsoleWatch) -> ConsoleWatch:
    """The console watch, for a test that takes the browser offline on purpose."""
    for noise in OFFLINE_NOISE:
        console_watch.allow(noise)
    return console_watch


def _page(browser: Browser, live_server: LiveServer, viewport: dict[str, int], watch: ConsoleWatch) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(
        base_url=live_server.url,
        viewport=viewport,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        has_touch=viewport["width"] < 768,
        is_mobile=viewport["width"] < 768,
    )
    context.on("page", watch.attach)
    page = context.new_page()
    yield page
    context.close()
    assert watch.unexpected() == [], "browser console errors"


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch) -> Iterator[Page]:
    """A page in a fresh phone-sized context (360×740); console errors fail the test."""
    yield from _page(browser, live_server, PHONE, console_watch)


@pytest.fixture
def tablet(browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch) -> Iterator[Page]:
    """A page in a fresh tablet-sized context (1024×768); console errors fail the test."""
    yield from _page(browser, live_server, TABLET, console_watch)


@pytest.fixture
def camera_browser(playwright: Playwright) -> Iterator[Callable[[Path], Browser]]:
    """Launches a Chromium whose camera plays the given Y4M file (permission granted without a prompt)."""
    launched: list[Browser] = []

    def launch(video: Path) -> Browser:
        args = [
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=args)
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()
