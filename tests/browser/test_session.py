"""Signing in and out, tenancy and the XSRF check, in a real browser against `serve`."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import Credentials, new_page


def test_a_page_asks_to_sign_in_first_then_leads_back(
    browser: Browser, console_server: ServerProcess, dev_tenant: Credentials
) -> None:
    page = new_page(browser)
    page.goto(f"{console_server.url}/submit")
    expect(page).to_have_url(f"{console_server.url}/signin?next=/submit")
    expect(page.get_by_text("dev-credentials.json")).to_be_visible()
    page.get_by_label("Client id").fill(dev_tenant.client_id)
    page.get_by_label("Client secret").fill("not the secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Client secret").fill(dev_tenant.client_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console_server.url}/submit")
    expect(page.get_by_role("heading", name="Submit a job")).to_be_visible()
    page.context.close()


def test_sign_out_ends_the_session(page: Page, console_server: ServerProcess) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{console_server.url}/signin")
    page.goto(f"{console_server.url}/jobs")
    expect(page).to_have_url(f"{console_server.url}/signin?next=/jobs")


def test_a_form_posted_without_the_xsrf_token_is_refused(
    page: Page, console_server: ServerProcess
) -> None:
    """The session cookie alone does not change anything: another site's form would
    carry it, not the token."""
    answer = page.request.post(f"{console_server.url}/signout", form={"xsrf_token": "forged"})
    assert answer.status == 403
    assert "security token" in answer.text()
    answer = page.request.post(f"{console_server.url}/submit", form={"model": "x"})
    assert answer.status == 403
    page.goto(f"{console_server.url}/jobs")  # still signed in
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.labels.length === 0 && !e.hasAttribute('aria-label'))
    .map(e => e.name)"""


def test_every_control_has_a_label_and_the_keyboard_reaches_them(
    page: Page, console_server: ServerProcess
) -> None:
    for path in ("/jobs", "/submit"):
        page.goto(f"{console_server.url}{path}")
        assert page.evaluate(UNLABELLED) == [], path
    page.goto(f"{console_server.url}/jobs")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the content")
    reached = []
    for _ in range(15):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert {"Jobs", "Submit", "Sign out", "Submit a job", "Filter"} <= set(reached)
