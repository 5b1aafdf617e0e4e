"""A console session lives while it is used and ends after the operator's idle time, in
Chromium against a `serve` of its own with the shortest times the settings allow, a 60 s
token lifetime and a 30 s idle time: browsing every 10 s for three minutes stays signed in
(its token renewed on the way), and 30 s without use signs it out. One test: it takes
under four minutes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import Credentials, new_page, sign_in

TOKEN_SECONDS, IDLE_SECONDS = 60, 30
BROWSING_SECONDS, EVERY_SECONDS = 180, 10
PAGES = ("/jobs", "/submit", "/models", "/data/folders/_PUBLIC_ROOT_ID", "/configurations")


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A service (API only: no job runs here) whose tokens live a minute."""
    settings = {
        "JOBMANAGER_TOKEN_TTL_SECONDS": str(TOKEN_SECONDS),
        "JOBMANAGER_SESSION_IDLE_SECONDS": str(IDLE_SECONDS),
        "JOBMANAGER_JOB_SLOTS": "0",
        "JOBMANAGER_WARM_ENVIRONMENTS": "0",
    }
    home = tmp_path_factory.mktemp("short-sessions") / "home"
    server = ServerProcess(home, extra_env=settings).start()
    yield server
    server.stop()


def session_token(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "SESSION")


def test_a_session_lives_while_it_is_used_and_ends_when_idle(
    browser: Browser, short_sessions: ServerProcess
) -> None:
    url = short_sessions.url
    made = short_sessions.dev_credentials()
    page = new_page(browser)
    sign_in(page, short_sessions, Credentials(made["clientId"], made["clientSecret"]))
    first = session_token(page)
    seen = {first}
    started = time.monotonic()
    visits = 0
    while time.monotonic() - started < BROWSING_SECONDS:
        path = PAGES[visits % len(PAGES)]
        page.goto(f"{url}{path}")
        assert page.url == f"{url}{path}", f"signed out after {time.monotonic() - started:.0f} s"
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        seen.add(session_token(page))
        visits += 1
        time.sleep(EVERY_SECONDS)
    assert visits >= BROWSING_SECONDS // (EVERY_SECONDS + 5)
    # The sign-in's token expired two minutes ago; the session went on with renewed ones.
    refused = httpx.get(
        f"{url}/api/jobmanager/v3/jobs", headers={"Authorization": f"Bearer {first}"}
    )
    assert refused.status_code == 401 and "expired" in refused.text
    assert len(seen) >= BROWSING_SECONDS // TOKEN_SECONDS

    last = session_token(page)
    time.sleep(IDLE_SECONDS + 5)
    page.goto(f"{url}/jobs")
    expect(page).to_have_url(f"{url}/signin?next=/jobs")
    # The browser forgot the cookie, and the service no longer takes its token either.
    kept = httpx.get(f"{url}/jobs", cookies={"SESSION": last}, follow_redirects=False)
    assert (kept.status_code, kept.headers["location"]) == (303, "/signin?next=/jobs")
    page.context.close()
