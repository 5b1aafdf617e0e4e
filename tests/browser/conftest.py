"""Fixtures for the console's browser tests: Playwright for Python driving Debian's
`chromium` (never a downloaded browser) against a real `jobmanager serve`.

Without /usr/bin/chromium (or the `playwright` package) the tests skip with the reason;
on CI (CI=true) they fail instead: `.ci/run` installs the package.

- `console_server`: one `serve` (embedded SQLite, dev tenant) for the session's tests;
- `browser`: one headless Chromium for the session;
- `page`: a fresh browser context (its own cookies) signed in as the dev tenant;
- `other_tenant`: a second tenant's credentials on the same server;
- `api`: the dev tenant over the API (a module's), to make what other pages would;
- `sign_in(page, server, client_id, secret)`, `screenshot(page, name)`, `upload_model`,
  `make_folder` and `fits_the_screen(page)` for tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.acceptance.server import ServerProcess
from tests.conftest import ON_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# How long a page waits for what a test expects, in ms; for a job to start or end, longer:
# on a busy machine a kernel may take a minute to start.
WAIT_MS = 60_000
JOB_WAIT_MS = 240_000
DX = "/api/dataexchange/v3"
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def _unavailable(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"the browser tests need {reason} on CI")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Playwright's sync API keeps an event loop running in this thread while it is open:
    closed after each module, so that tests of other modules can run their own loops."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real service with its dev tenant; each test makes its own models and folders."""
    server = ServerProcess(tmp_path_factory.mktemp("console") / "home").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dev_tenant(console_server: ServerProcess) -> Credentials:
    made = console_server.dev_credentials()
    return Credentials(made["clientId"], made["clientSecret"])


@pytest.fixture(scope="session")
def other_tenant(console_server: ServerProcess) -> Credentials:
    """A second tenant of the same server, made with the admin command."""
    env = {**os.environ, "JOBMANAGER_HOME": str(console_server.home)}

    def admin(*args: str) -> str:
        command = [sys.executable, "-m", "jobmanager", "admin", *args]
        return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout

    admin("tenant", "create", "other")
    printed = dict(
        line.split(":", 1)
        for line in admin("credentials", "create", "--tenant", "other").splitlines()
        if ":" in line
    )
    return Credentials(printed["client id"].strip(), printed["client secret"].strip())


def sign_in(page: Page, server: ServerProcess, who: Credentials) -> None:
    """Sign in through the form, as a person would, and land on the jobs."""
    page.goto(f"{server.url}/signin")
    page.get_by_label("Client id").fill(who.client_id)
    page.get_by_label("Client secret").fill(who.client_secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/jobs")


def new_page(browser: Browser, **options: Any) -> Page:
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


@pytest.fixture
def page(
    browser: Browser, console_server: ServerProcess, dev_tenant: Credentials
) -> Iterator[Page]:
    """A desktop-sized page (1280 px) signed in as the dev tenant, in its own context."""
    opened = new_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(opened, console_server, dev_tenant)
    yield opened
    opened.context.close()


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """A screenshot for the docs: docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="module")
def api(console_server: ServerProcess) -> Iterator[httpx.Client]:
    """The dev tenant over the API, to make what the console's other pages would."""
    headers = {"Authorization": f"Bearer {console_server.token()}"}
    with httpx.Client(base_url=console_server.url, headers=headers, timeout=30) as client:
        yield client


def upload_model(api: httpx.Client, name: str, payload: bytes, filename: str = "note.zpln") -> str:
    """A model through the API (which stores any payload); its id."""
    metadata = {"name": name, "description": "", "type": "", "lastVersion": {}}
    answer = api.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": (filename, payload, "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def make_folder(api: httpx.Client, name: str, parent: str = "_PUBLIC_ROOT_ID") -> str:
    answer = api.post(f"{DX}/directories", json={"name": name, "parentId": parent})
    answer.raise_for_status()
    return str(answer.json()["id"])


def fits_the_screen(page: Page) -> bool:
    """Whether the page does not scroll sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
