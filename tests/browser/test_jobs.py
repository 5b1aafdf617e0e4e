"""The job loop in a real browser: submit the example model from the console, watch it go
live to SUCCEEDED, open its outputs; stop a long job; run one again; another tenant's
job is not found. Screenshots of the main pages go to docs/screenshots/."""

from __future__ import annotations

import json
from importlib import resources

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import (
    DX,
    JOB_WAIT_MS,
    Credentials,
    make_folder,
    new_page,
    screenshot,
    sign_in,
    upload_model,
)
from tests.integration.jobs.api import zeppelin_note


@pytest.fixture(scope="module")
def example(api: httpx.Client) -> dict[str, str]:
    """The example: its note as a model, a configuration, its CSV in an input folder."""
    assets = resources.files("jobmanager.cli.examples")
    api.post("/api/prl/v3/configurations", json={"name": "example"}).raise_for_status()
    inputs = make_folder(api, "sensors-input")
    outputs = make_folder(api, "sensors-output")
    metadata = {"name": "sensors.csv", "parentId": inputs, "type": "text/csv"}
    api.post(
        f"{DX}/files",
        files={
            "file": ("sensors.csv", assets.joinpath("sensors.csv").read_bytes(), "text/csv"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    ).raise_for_status()
    note = assets.joinpath("sensor_report.zpln").read_bytes()
    model = upload_model(api, "sensor report", note)
    return {"model": model, "input": inputs, "output": outputs}


def submit(page: Page, server: ServerProcess, model: str, inputs: str, outputs: str) -> str:
    """Fill the submit form and land on the new job's page; its id."""
    page.goto(f"{server.url}/submit")
    page.get_by_label("Model").select_option(label=model)
    page.get_by_label("Input folder", exact=True).select_option(label=inputs)
    page.get_by_label("Output folder", exact=True).select_option(label=outputs)
    return submit_form(page, server)


def submit_form(page: Page, server: ServerProcess) -> str:
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(f"{server.url}/jobs/*")
    return page.url.rsplit("/", 1)[-1]


def test_submit_the_example_and_follow_it_live_to_its_outputs(
    page: Page, console_server: ServerProcess, example: dict[str, str]
) -> None:
    page.goto(f"{console_server.url}/submit")
    page.get_by_label("Model").select_option(label="sensor report (zeppelin)")
    threshold = page.get_by_label("threshold")
    expect(threshold).to_have_value("75")  # prefilled from the note's form
    threshold.fill("70")
    page.get_by_label("Input folder", exact=True).select_option(label="public/sensors-input")
    page.get_by_label("Output folder", exact=True).select_option(label="public/sensors-output")
    screenshot(page, "submit")
    job_id = submit_form(page, console_server)
    page.evaluate("window.notReloaded = true")

    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    assert page.evaluate("window.notReloaded") is True  # it came live, not by a reload
    timeline = page.locator("table.timeline")
    for status in ("SUBMITTED", "STARTING", "RUNNING", "SUCCEEDED"):
        expect(timeline).to_contain_text(status)
    expect(page.locator(".chain")).to_contain_text("All 5 paragraphs ran")
    outputs = page.locator("#outputs")
    expect(outputs).to_contain_text("summary.csv")
    expect(outputs.locator("img[alt='chart.png']")).to_be_visible()
    expect(outputs.get_by_role("link", name="Download summary.csv")).to_be_visible()
    executed_note = outputs.locator("details", has_text="Show the executed note")
    expect(executed_note).to_contain_text("Summarise")
    expect(executed_note).to_contain_text("144 readings from 3 sensors; alarm threshold 70.0")
    table = outputs.locator("details", has_text="Show the table").locator("table")
    expect(table).to_contain_text("pump-2")
    page.wait_for_function("document.querySelector(\"img[alt='chart.png']\").naturalWidth > 0")
    expect(page.locator("#ended")).to_contain_text("The run is over: SUCCEEDED")
    screenshot(page, "job")

    page.goto(f"{console_server.url}/jobs")
    row = page.locator(f"tr[data-job='{job_id}']")
    expect(row).to_contain_text("SUCCEEDED")
    expect(row).to_contain_text("sensor report")


def test_the_jobs_list_follows_a_job_without_a_reload(
    page: Page, console_server: ServerProcess, api: httpx.Client, example: dict[str, str]
) -> None:
    page.goto(f"{console_server.url}/jobs")
    page.evaluate("window.notReloaded = true")
    body = {
        "modelId": example["model"],
        "configurationId": configuration_id(api),
        "inputFolderId": example["input"],
        "outputFolderId": example["output"],
    }
    answer = api.post("/api/jobmanager/v3/jobs", json=body)
    answer.raise_for_status()
    row = page.locator(f"tr[data-job='{answer.json()['id']}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    assert page.evaluate("window.notReloaded") is True


def configuration_id(api: httpx.Client) -> str:
    listed = api.get("/api/prl/v3/configurations").json()
    return str(next(c["id"] for c in listed["content"] if c["name"] == "example"))


def test_stop_a_long_job_and_run_it_again(
    page: Page, console_server: ServerProcess, api: httpx.Client, example: dict[str, str]
) -> None:
    long_note = zeppelin_note("%python\nprint('working', flush=True)\nimport time\ntime.sleep(300)")
    upload_model(api, "long sleep", long_note)
    job_id = submit(
        page,
        console_server,
        "long sleep (zeppelin)",
        "public/sensors-input",
        "public/sensors-output",
    )
    expect(page.locator("#job-status")).to_have_text("RUNNING", timeout=JOB_WAIT_MS)
    expect(page.locator("#live-output")).to_contain_text("working")
    expect(page.locator("#running")).to_contain_text("Paragraph 1 of 1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-status")).to_have_text("STOPPED", timeout=JOB_WAIT_MS)
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)

    page.get_by_role("button", name="Run again").click()
    page.wait_for_url(
        lambda url: url.startswith(f"{console_server.url}/jobs/") and job_id not in url
    )
    expect(page.locator("#job-status")).not_to_have_text("STOPPED")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-status")).to_have_text("STOPPED", timeout=JOB_WAIT_MS)
    page.goto(f"{console_server.url}/jobs")
    expect(page.locator("tr[data-job]").first).to_contain_text("STOPPED")
    screenshot(page, "jobs")


def test_another_tenant_finds_no_such_job(
    browser: Browser,
    console_server: ServerProcess,
    other_tenant: Credentials,
    api: httpx.Client,
) -> None:
    job_id = api.get("/api/jobmanager/v3/jobs").json()["content"][0]["id"]
    other = new_page(browser)
    sign_in(other, console_server, other_tenant)
    answer = other.goto(f"{console_server.url}/jobs/{job_id}")
    assert answer is not None and answer.status == 404
    expect(other.get_by_role("heading", name="Not found")).to_be_visible()
    expect(other.locator("tr[data-job]")).to_have_count(0)
    other.goto(f"{console_server.url}/jobs")
    expect(other.locator(f"tr[data-job='{job_id}']")).to_have_count(0)
    other.context.close()


def test_the_pages_fit_a_phone(
    browser: Browser, console_server: ServerProcess, dev_tenant: Credentials
) -> None:
    phone = new_page(browser, viewport={"width": 390, "height": 844})
    sign_in(phone, console_server, dev_tenant)
    for path in ("/submit", "/jobs"):
        phone.goto(f"{console_server.url}{path}")
        wider = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wider, f"{path} scrolls sideways at 390 px"
    screenshot(phone, "jobs-phone")
    phone.context.close()
