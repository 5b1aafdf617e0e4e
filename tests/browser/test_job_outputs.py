"""A job's page shows what that job wrote, in a real browser: run a job into a folder, run
it again into the same folder (new bytes under the same names), and the first job's page
still lists and downloads the first job's bytes while the folder shows the latest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import JOB_WAIT_MS, screenshot
from tests.integration.jobs.api import zeppelin_note

DX = "/api/dataexchange/v3"
# Every run writes its own token: a re-run's bytes differ under the same names.
TOKEN_NOTE = zeppelin_note(
    "%python\nimport uuid, pathlib\ntoken = uuid.uuid4().hex\nprint('token', token)\n"
    "pathlib.Path(outputFolder, 'token.txt').write_text(token)\n"
    "pathlib.Path(outputFolder, 'table.csv').write_text('run,token\\n1,' + token + '\\n')"
)


@pytest.fixture(scope="module")
def api(console_server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {console_server.token()}"}
    with httpx.Client(base_url=console_server.url, headers=headers, timeout=30) as client:
        yield client


def prepare(api: httpx.Client) -> None:
    """The model, a configuration and both folders, made as the other pages would."""
    metadata = {"name": "token writer", "description": "", "type": "zeppelin", "lastVersion": {}}
    api.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": ("note.zpln", TOKEN_NOTE, "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    ).raise_for_status()
    api.post("/api/prl/v3/configurations", json={"name": "outputs-env"}).raise_for_status()
    for name in ("tokens-in", "tokens-out"):
        body = {"name": name, "parentId": "_PUBLIC_ROOT_ID"}
        api.post(f"{DX}/directories", json=body).raise_for_status()


def folder_file(page: Page, server: ServerProcess, name: str) -> str:
    """The folder's file as the Data page offers it: opened from the folder's link."""
    page.goto(f"{server.url}/data")
    page.get_by_role("link", name="tokens-out").click()
    href = page.get_by_role("link", name=name, exact=True).get_attribute("href")
    return page.request.get(f"{server.url}{href}").text()


def downloaded(page: Page, name: str) -> str:
    """Click the job page's Download link of `name`; the file the browser saved."""
    with page.expect_download() as started:
        page.get_by_role("link", name=f"Download {name}").click()
    path = started.value.path()
    assert started.value.suggested_filename == name
    return path.read_text()


def test_a_jobs_page_shows_what_that_job_wrote_after_a_rerun(
    page: Page, console_server: ServerProcess, api: httpx.Client
) -> None:
    prepare(api)
    page.goto(f"{console_server.url}/submit")
    page.get_by_label("Model").select_option(label="token writer (zeppelin)")
    page.get_by_label("Configuration").select_option(label="outputs-env")
    page.get_by_label("Input folder", exact=True).select_option(label="public/tokens-in")
    page.get_by_label("Output folder", exact=True).select_option(label="public/tokens-out")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(f"{console_server.url}/jobs/*")
    first_url = page.url
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    outputs = page.locator("#outputs")
    expect(outputs).to_contain_text("token.txt")
    first_token = downloaded(page, "token.txt")
    assert len(first_token) == 32
    assert folder_file(page, console_server, "token.txt") == first_token

    page.goto(first_url)
    page.get_by_role("button", name="Run again").click()
    jobs = f"{console_server.url}/jobs/"
    page.wait_for_url(lambda url: url.startswith(jobs) and url != first_url)
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    second_token = downloaded(page, "token.txt")
    assert second_token != first_token
    assert folder_file(page, console_server, "token.txt") == second_token  # the latest

    page.goto(first_url)
    outputs = page.locator("#outputs")
    for name in ("token.txt", "table.csv", "token writer_2TESTNOTE.zpln"):
        expect(outputs.get_by_text(name, exact=True)).to_be_visible()
    sha = hashlib.sha256(first_token.encode()).hexdigest()
    expect(outputs.locator(f"abbr[title='SHA-256 {sha}']")).to_have_text(sha[:12])
    assert downloaded(page, "token.txt") == first_token
    executed_note = outputs.locator("details", has_text="Show the executed note")
    expect(executed_note).to_contain_text(f"token {first_token}")
    expect(executed_note).not_to_contain_text(second_token)
    table = outputs.locator("details", has_text="Show the table").locator("table")
    expect(table).to_contain_text(first_token)
    listed = api.get(f"/api/jobmanager/v3/jobs/{first_url.rsplit('/', 1)[-1]}/outputs").json()
    assert {o["path"]: o["sha256"] for o in listed["outputs"]}["token.txt"] == sha
    screenshot(page, "job-outputs")
