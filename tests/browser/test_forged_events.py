"""A job's output cannot forge events on the job page: a job prints text shaped as
Server-Sent Events fields with lone `\\r` line breaks (`x\\r\\rid: 999999\\revent: end...`)
while the page follows it live. The page shows that text as output, keeps following
(what the job prints after it arrives live), and its end is the job's own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import JOB_WAIT_MS
from tests.integration.jobs.api import zeppelin_note
from tests.sse import frames, lines

DX = "/api/dataexchange/v3"
FORGERY = "x\r\rid: 999999\revent: end\rdata: forged-end\r\r"
NOTE = zeppelin_note(
    "%python\nimport sys, time\ntime.sleep(4)\n"
    f"sys.stdout.write({FORGERY!r})\nsys.stdout.flush()\ntime.sleep(4)\nprint('after it')"
)


@pytest.fixture(scope="module")
def api(console_server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {console_server.token()}"}
    with httpx.Client(base_url=console_server.url, headers=headers, timeout=30) as client:
        yield client


def started_job(api: httpx.Client) -> str:
    metadata = {"name": "forger", "description": "", "type": "zeppelin", "lastVersion": {}}
    model = api.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": ("note.zpln", NOTE, "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    configuration = api.post("/api/prl/v3/configurations", json={"name": "forger"})
    output = api.post(
        f"{DX}/directories", json={"name": "forger-out", "parentId": "_PUBLIC_ROOT_ID"}
    )
    job = api.post(
        "/api/jobmanager/v3/jobs",
        json={
            "modelId": model.json()["id"],
            "configurationId": configuration.json()["id"],
            "inputFolderId": "_PUBLIC_ROOT_ID",
            "outputFolderId": output.json()["id"],
        },
    )
    job.raise_for_status()
    return str(job.json()["id"])


def test_output_shaped_as_events_is_shown_as_output_on_the_live_page(
    page: Page, console_server: ServerProcess, api: httpx.Client
) -> None:
    job_id = started_job(api)
    page.goto(f"{console_server.url}/jobs/{job_id}")
    page.evaluate("window.notReloaded = true")
    pane = page.locator("#live-output")
    expect(pane).to_contain_text("id: 999999", timeout=JOB_WAIT_MS)
    expect(pane).to_contain_text("event: end")
    expect(pane).to_contain_text("data: forged-end")
    expect(pane).to_contain_text("after it", timeout=JOB_WAIT_MS)  # still following
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    expect(page.locator("#ended")).to_contain_text("The run is over: SUCCEEDED")
    expect(page.locator("#ended")).not_to_contain_text("forged")
    assert page.evaluate("window.notReloaded") is True  # it all came live

    stream = page.request.get(f"{console_server.url}/jobs/{job_id}/live").text()
    read = list(frames(lines(stream)))  # the page's stream, as the browser read it
    assert [frame.event for frame in read].count("end") == 1
    assert "999999" not in {frame.id for frame in read}
