"""Parameters keep their types from the console's forms to the run, and the job page
says what a job ran on, in Chromium against a real `serve` (issue 23 §1 and §5).

The notebook asks for `n = 10` in its `parameters` cell and runs `df.head(n)`: text "10"
would fail it. It is submitted unchanged, then edited, then run again with a change from
the job page; two schedules made in the console fire it, one with a value that fails.
The module ends by walking every page at 390 px. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
import time

import httpx
import nbformat
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.server import ServerProcess
from tests.browser.conftest import (
    JOB_WAIT_MS,
    PHONE,
    Credentials,
    fits_the_screen,
    make_folder,
    new_page,
    screenshot,
    sign_in,
    upload_model,
)

MODEL = "row count"
LOAD = (
    "import time\nimport pandas as pd\nassert n > 0, 'n must be positive'\n"
    "df = pd.DataFrame({'x': range(20)})\nprint('loaded', flush=True)\ntime.sleep(3)"
)


def rows_notebook() -> bytes:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Rows"),
        nbformat.v4.new_code_cell("n = 10", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(LOAD),
        nbformat.v4.new_code_cell("rows = df.head(n)\nprint(f'{len(rows)} rows')"),
    ]
    return str(nbformat.writes(notebook)).encode()


@pytest.fixture(scope="module")
def made(api: httpx.Client) -> dict[str, str]:
    """The notebook as a model, a configuration and folders; the tests add their jobs and
    schedules here for the last test's walk."""
    answer = api.post("/api/prl/v3/configurations", json={"name": "typed"})
    answer.raise_for_status()
    return {
        "model": upload_model(api, MODEL, rows_notebook(), "rows.ipynb"),
        "configuration": str(answer.json()["id"]),
        "input": make_folder(api, "rows-input"),
        "output": make_folder(api, "rows-output"),
    }


def fill_submit(page: Page, server: ServerProcess, run: str) -> None:
    """The submit form with the notebook, its folders and an output folder of its own."""
    page.goto(f"{server.url}/submit")
    page.get_by_label("Model").select_option(label=f"{MODEL} (jupyter)")
    page.get_by_label("Configuration").select_option(label="typed")
    page.get_by_label("Input folder", exact=True).select_option(label="public/rows-input")
    page.get_by_label("Output folder", exact=True).select_option(label="public/rows-output")
    page.get_by_label("…or a new output folder inside it").fill(run)


def submit(page: Page, server: ServerProcess) -> str:
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[-1]


def test_a_notebook_submitted_unchanged_keeps_its_integer(
    page: Page, console_server: ServerProcess, made: dict[str, str]
) -> None:
    fill_submit(page, console_server, "run-unchanged")
    field = page.get_by_label("n integer")
    expect(field).to_have_value("10")
    made["job"] = submit(page, console_server)

    # Live: while cell 3 runs, the header and the running block name the same cell.
    expect(page.locator("#live-output")).to_contain_text("loaded", timeout=JOB_WAIT_MS)
    expect(page.locator("#running .step")).to_contain_text("Cell 3 of 4")
    expect(page.locator("#job-progress")).to_contain_text("cell 3 of 4")
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    expect(page.locator("#live-output")).to_contain_text("10 rows")
    # The message's count is the rendered notebook's: code cells, the injected one too.
    expect(page.locator(".chain")).to_have_text("All 4 cells ran")
    expect(page.locator(".notebook-summary")).to_have_text("4 code cells, 1 markdown cell")

    facts = page.locator("dl.facts").first
    expect(facts.get_by_role("link", name="public/rows-input")).to_have_attribute(
        "href", f"/data/folders/{made['input']}"
    )
    expect(facts.get_by_role("link", name="public/rows-output/run-unchanged")).to_be_visible()
    expect(facts.get_by_role("link", name=MODEL)).to_have_attribute(
        "href", f"/models/{made['model']}"
    )
    parameters = page.get_by_role("region", name="Parameters")
    expect(parameters.locator("td")).to_have_text("10")  # a number: text would be "10" quoted
    use = page.get_by_role("region", name="Resource use")
    for figure in ("Running", "Peak memory", "CPU time", "Outputs saved"):
        expect(use).to_contain_text(figure)
    provenance = page.get_by_role("region", name="Provenance")
    expect(provenance).to_contain_text("sha256 ")
    expect(provenance).to_contain_text("row count.ipynb")
    expect(page.get_by_role("button", name="Run again", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Repair")).to_have_count(0)  # it succeeded
    screenshot(page, "job-notebook")


def test_an_edited_value_is_read_as_its_type_then_run_again_with_a_change(
    page: Page, console_server: ServerProcess, api: httpx.Client, made: dict[str, str]
) -> None:
    fill_submit(page, console_server, "run-edited")
    page.get_by_label("n integer").fill("5")
    edited = submit(page, console_server)
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    expect(page.locator("#live-output")).to_contain_text("5 rows")

    page.get_by_role("link", name="Run again with changes").click()
    expect(page.get_by_role("heading", name="Run it again")).to_be_visible()
    again = page.get_by_label("n integer")
    expect(again).to_have_value("5")
    again.fill("4")
    screenshot(page, "rerun")
    page.get_by_role("button", name="Run again").click()
    page.wait_for_url(lambda url: "/jobs/" in url and edited not in url and "rerun" not in url)
    origin = page.locator("dl.facts").first.get_by_role("link", name=edited)
    expect(origin).to_have_attribute("href", f"/jobs/{edited}")
    expect(page.locator("#job-status")).to_have_text("SUCCEEDED", timeout=JOB_WAIT_MS)
    expect(page.locator("#live-output")).to_contain_text("4 rows")
    rerun = api.get(f"/api/jobmanager/v3/jobs/{page.url.rsplit('/', 1)[-1]}").json()
    assert (rerun["rerunOf"], rerun["repairOf"]) == (edited, None)  # the API's re-run


def test_a_value_that_is_not_of_its_type_is_refused_in_view(
    page: Page, console_server: ServerProcess, made: dict[str, str]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 600})  # the banner's place is far up
    fill_submit(page, console_server, "run-refused")
    page.get_by_label("n integer").fill("ten")
    page.get_by_role("button", name="Submit", exact=True).click()
    banner = page.locator("#flash").get_by_role("alert")
    expect(banner).to_contain_text("parameters.n: 'ten' is not an integer")
    expect(banner).to_be_focused()
    expect(banner).to_be_in_viewport()
    assert page.url == f"{console_server.url}/submit"
    screenshot(page, "submit-refused", full_page=False)


def make_schedule(page: Page, server: ServerProcess, name: str, n: str) -> str:
    """A schedule made in the console, firing every three seconds; its id."""
    page.goto(f"{server.url}/schedules/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("When it runs").fill("*/3 * * * * ?")
    page.get_by_label("Model").select_option(label=MODEL)
    page.get_by_label("Configuration").select_option(label="typed")
    page.get_by_label("Input folder").select_option(label="public/rows-input")
    page.get_by_label("Output folder").select_option(label="public/rows-output")
    expect(page.get_by_label("n integer")).to_have_value("10")  # the model's, swapped in
    page.get_by_label("n integer").fill(n)
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


def first_job_ends(page: Page, server: ServerProcess, schedule: str) -> str:
    """Reload the schedule's page until its first firing's job has ended, then stop the
    schedule; that firing's row shows the job's status."""
    page.goto(f"{server.url}/schedules/{schedule}")
    fired = page.get_by_role("row").filter(has=page.locator("a[href^='/jobs/']")).last
    deadline = time.monotonic() + JOB_WAIT_MS / 1000
    while time.monotonic() < deadline:
        if fired.count() and re.search("SUCCEEDED|FAILED", fired.inner_text()):
            break
        time.sleep(2)
        page.reload()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".facts .status")).to_have_text("STOPPED")
    return fired.inner_text()


def test_console_made_schedules_fire_with_typed_values_and_show_their_jobs_status(
    page: Page, console_server: ServerProcess, made: dict[str, str]
) -> None:
    good = make_schedule(page, console_server, "rows every 3 s", "3")
    bad = make_schedule(page, console_server, "rows that fail", "0")
    made["schedule"] = good
    assert "SUCCEEDED" in first_job_ends(page, console_server, good)
    screenshot(page, "schedule-firings")
    row = first_job_ends(page, console_server, bad)
    assert "FAILED" in row and "created" not in row
    failed = page.get_by_role("row").filter(has=page.locator("a[href^='/jobs/']")).last
    failed.get_by_role("link").click()
    expect(page.locator(".chain")).to_contain_text("n must be positive")
    expect(page.get_by_role("button", name="Repair")).to_be_visible()
    expect(page.locator("#repair-hint")).to_contain_text("from cell 3")
    expect(page.locator("dl.facts").first.get_by_role("link", name="the schedule")).to_be_visible()


def test_every_page_fits_a_phone_and_has_the_favicon(
    browser: Browser,
    console_server: ServerProcess,
    dev_tenant: Credentials,
    api: httpx.Client,
    made: dict[str, str],
) -> None:
    job = made.get("job") or api.get("/api/jobmanager/v3/jobs").json()["content"][0]["id"]
    schedule = (
        made.get("schedule") or api.get("/api/jobmanager/v3/schedules").json()["content"][0]["id"]
    )
    phone = new_page(browser, viewport=PHONE)
    missing: list[str] = []
    phone.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    phone.goto(f"{console_server.url}/signin")
    assert fits_the_screen(phone), "/signin"
    sign_in(phone, console_server, dev_tenant)
    pages = [
        "/jobs",
        f"/jobs/{job}",
        f"/jobs/{job}/rerun",
        "/submit",
        f"/submit?job={job}",
        "/models",
        f"/models/{made['model']}",
        "/data",
        f"/data/folders/{made['output']}",
        "/configurations",
        f"/configurations/{made['configuration']}",
        "/configurations/new",
        "/schedules",
        f"/schedules/{schedule}",
        "/schedules/new",
    ]
    for path in pages:
        phone.goto(f"{console_server.url}{path}")
        phone.wait_for_load_state("networkidle")
        assert fits_the_screen(phone), f"{path} scrolls sideways at 390 px"
        if path == f"/jobs/{job}":
            screenshot(phone, "job-phone")
    assert missing == [], missing
    phone.goto(f"{console_server.url}/jobs/no-such-job")
    assert fits_the_screen(phone), "the error page"
    icon = phone.locator("link[rel=icon]").get_attribute("href")
    answer = phone.request.get(f"{console_server.url}{icon}")
    assert answer.status == 200 and answer.headers["content-type"] == "image/svg+xml"
    phone.context.close()
