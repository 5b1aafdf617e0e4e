"""The resource pages in a real browser against `serve`: upload a model (a taken name
offers a new version, a file that is no model is refused), make folders,
drop an input file on the drop zone, make a configuration, type a schedule and watch its
fire times appear, stop it; rendered outputs stay inert and sort by keyboard. Screenshots
of the models, data and schedules pages go to docs/screenshots/."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from jobmanager.console.render import render_csv_preview, render_zeppelin_note
from tests.acceptance.server import ServerProcess
from tests.browser.conftest import (
    PHONE,
    WAIT_MS,
    Credentials,
    fits_the_screen,
    new_page,
    screenshot,
    sign_in,
    upload_model,
)
from tests.integration.jobs.api import zeppelin_note

STATIC = Path(__file__).resolve().parents[2] / "src" / "jobmanager" / "console" / "static"


def drop_file(page: Page, selector: str, name: str, content: str) -> None:
    """Drop a file on an element as a person drags one from their desktop."""
    transfer = page.evaluate_handle(
        "([name, content]) => { const t = new DataTransfer();"
        " t.items.add(new File([content], name, {type: 'text/csv'})); return t; }",
        [name, content],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_upload_a_model_then_versions_and_refuse_what_is_no_model(
    page: Page, console_server: ServerProcess, api: httpx.Client, tmp_path: Path
) -> None:
    note = tmp_path / "daily_report.zpln"
    note.write_bytes(zeppelin_note("%python\nprint(1)"))
    page.goto(f"{console_server.url}/models")
    page.get_by_label("Description").fill("The morning numbers")
    page.get_by_label("Zeppelin note or Jupyter notebook").set_input_files(note)
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/models/[^/]+$"))
    expect(page.get_by_role("heading", name="daily_report")).to_be_visible()
    page.get_by_label("Zeppelin note or Jupyter notebook").set_input_files(note)
    page.get_by_role("button", name="Upload").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two versions
    model_url = page.url

    # The same name from the list: the page offers a new version of the model.
    page.goto(f"{console_server.url}/models")
    page.get_by_label("Zeppelin note or Jupyter notebook").set_input_files(note)
    page.get_by_role("button", name="Upload").click()
    offer = page.get_by_role("group", name="A model of that name exists")
    expect(offer).to_contain_text("daily_report exists already")
    expect(offer.get_by_role("button", name="a new model of the same name")).to_be_visible()
    screenshot(page, "model-upload-offer")
    offer.get_by_role("button", name="version 3 of daily_report").click()
    expect(page).to_have_url(model_url)
    expect(rows).to_have_count(4)

    # A file that is no note or notebook is refused in words, and never offered in Submit.
    text = tmp_path / "notes.txt"
    text.write_text("call the plant at 9")
    page.goto(f"{console_server.url}/models")
    page.get_by_label("Zeppelin note or Jupyter notebook").set_input_files(text)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Upload failed: notes.txt: notes.txt is not a model a job can run: upload a Zeppelin "
        "note (.zpln, or a note.json) or a Jupyter notebook (.ipynb, nbformat 4 or 3)"
    )
    expect(page.get_by_role("link", name="notes")).to_have_count(0)
    upload_model(api, "client template", b'{"empty": "model"}', "template.json")
    page.goto(f"{console_server.url}/submit")
    offered = page.get_by_label("Model").locator("option").all_inner_texts()
    assert any(name.startswith("daily_report") for name in offered)
    assert not any(name.startswith("client template") for name in offered), offered
    page.goto(f"{console_server.url}/models")
    expect(page.get_by_role("link", name="daily_report").first).to_be_visible()
    screenshot(page, "models")


def test_folders_and_a_dropped_input_file(page: Page, console_server: ServerProcess) -> None:
    page.goto(f"{console_server.url}/data")
    page.get_by_label("Folder name").fill("plant-7")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_role("link", name="plant-7").click()
    expect(page.get_by_role("navigation", name="Folder path")).to_contain_text("plant-7")
    page.get_by_label("Folder name").fill("input")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_role("link", name="input").click()
    drop_file(page, ".drop-zone", "sensors.csv", "time,temperature\n1,20.5\n2,21\n")
    expect(page.get_by_role("link", name="sensors.csv")).to_be_visible()
    href = page.get_by_role("link", name="sensors.csv").get_attribute("href")
    download = page.request.get(f"{console_server.url}{href}")
    assert download.text() == "time,temperature\n1,20.5\n2,21\n"

    page.get_by_text("Rename", exact=False).first.click()
    page.get_by_label("New name of sensors.csv").fill("readings.csv")
    page.get_by_role("button", name="Rename", exact=True).click()
    expect(page.get_by_role("link", name="readings.csv")).to_be_visible()
    screenshot(page, "data")
    drop_file(page, ".drop-zone", "readings.csv", "again")  # the name is taken
    expect(page.locator(".upload-status")).to_contain_text("Upload failed: readings.csv:")
    page.get_by_label("Folder name").fill("bad/name")
    page.get_by_role("button", name="Create folder").click()
    expect(page.locator("#flash").get_by_role("alert")).to_contain_text("name must not contain '/'")


def test_data_page_at_phone_width(
    browser: Browser, console_server: ServerProcess, dev_tenant: Credentials
) -> None:
    page = new_page(browser, viewport=PHONE)
    sign_in(page, console_server, dev_tenant)
    for path in ("/data", "/models", "/configurations/new", "/schedules/new"):
        page.goto(f"{console_server.url}{path}")
        assert fits_the_screen(page), path
    page.keyboard.press("Tab")  # the skip link first, then the navigation
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.context.close()


def upload_in_console(page: Page, server: ServerProcess, note: Path) -> None:
    page.goto(f"{server.url}/models")
    page.get_by_label("Zeppelin note or Jupyter notebook").set_input_files(note)
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/models/[^/]+$"))


def create_configuration(page: Page, server: ServerProcess, name: str) -> None:
    page.goto(f"{server.url}/configurations/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Memory in MiB").fill("1024")
    page.get_by_role("button", name="Create configuration").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def fill_schedule(page: Page, server: ServerProcess, name: str, model: str, config: str) -> None:
    """The schedule form with all but its expression."""
    page.goto(f"{server.url}/schedules/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Model").select_option(label=model)
    page.get_by_label("Configuration").select_option(label=config)


def test_a_schedule_shows_its_fire_times_as_typed_then_stops(
    page: Page, console_server: ServerProcess, tmp_path: Path
) -> None:
    note = tmp_path / "hourly.zpln"
    note.write_bytes(zeppelin_note("%python\nprint(1)"))
    upload_in_console(page, console_server, note)
    create_configuration(page, console_server, "nightly")
    fill_schedule(page, console_server, "every weekday morning", "hourly", "nightly")
    when = page.get_by_label("When it runs")
    when.press_sequentially("0 6 * *", delay=30)
    expect(page.locator("#fire-times")).to_contain_text("got 4")
    when.press_sequentially(" MON-FRI", delay=30)
    fire_times = page.locator("#fire-times li")
    expect(fire_times).to_have_count(5)
    expect(fire_times.first).to_contain_text("06:00:00")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    expect(fire_times.first).to_contain_text("Europe/Berlin")
    screenshot(page, "schedule-form")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="every weekday morning")).to_be_visible()
    expect(page.locator(".facts .status")).to_have_text("RUNNING")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".facts .status")).to_have_text("STOPPED")
    expect(page.get_by_text("none: it is stopped")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".facts .status")).to_have_text("RUNNING")
    page.goto(f"{console_server.url}/schedules")
    expect(page.get_by_role("link", name="every weekday morning")).to_be_visible()
    screenshot(page, "schedules")


def test_a_firing_that_finds_the_last_job_live_is_skipped_and_says_why(
    page: Page, console_server: ServerProcess, tmp_path: Path
) -> None:
    note = tmp_path / "slow.zpln"
    note.write_bytes(zeppelin_note("%python\nimport time\ntime.sleep(300)"))
    upload_in_console(page, console_server, note)
    create_configuration(page, console_server, "slow lane")
    fill_schedule(page, console_server, "every three seconds", "slow", "slow lane")
    page.get_by_label("When it runs").fill("*/3 * * * * ?")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="every three seconds")).to_be_visible()
    skipped = page.get_by_role("row").filter(has_text="skipped")
    deadline = time.monotonic() + WAIT_MS / 1000
    while not skipped.count() and time.monotonic() < deadline:
        time.sleep(2)
        page.reload()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".facts .status")).to_have_text("STOPPED")
    expect(skipped.first).to_contain_text("overlap: the schedule's job")
    created = page.get_by_role("row").filter(has=page.locator("a[href^='/jobs/']"))
    job_id = created.last.get_by_role("link").inner_text()
    screenshot(page, "schedule")
    page.goto(f"{console_server.url}/jobs/{job_id}")
    page.once("dialog", lambda dialog: dialog.accept())  # "Stop this job?"
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-status")).to_have_text(re.compile("STOPP"))


def test_rendered_outputs_are_inert_and_sort_by_keyboard(browser: Browser) -> None:
    hostile = "<script>parent.document.title = 'scripted'</script><b>bold</b>"
    note = {
        "name": "hostile",
        "paragraphs": [
            {
                "status": "FINISHED",
                "results": {
                    "code": "SUCCESS",
                    "msg": [
                        {"type": "HTML", "data": hostile},
                        {"type": "TABLE", "data": "city\tn\nOslo\t10\nBergen\t9\nÅs\t100\n"},
                    ],
                },
            },
        ],
    }
    body = render_zeppelin_note(json.dumps(note).encode()) + render_csv_preview(b"a\n3\n1\n2\n")
    page = new_page(browser)
    page.set_content(f"<title>console</title><main>{body}</main>")
    page.add_script_tag(path=str(STATIC / "render.js"))
    frame = page.frame_locator("iframe.rendered-frame")
    expect(frame.locator("b")).to_have_text("bold")
    assert page.title() == "console"  # the note's script did not run
    table = page.locator("table.sortable").first
    table.get_by_role("button", name="n").focus()
    page.keyboard.press("Enter")
    cells = table.locator("tbody tr td:first-child")
    expect(cells).to_have_text(["Bergen", "Oslo", "Ås"])
    expect(table.locator("th").nth(1)).to_have_attribute("aria-sort", "ascending")
    page.keyboard.press("Enter")
    expect(cells).to_have_text(["Ås", "Oslo", "Bergen"])
    height = page.locator("iframe.rendered-frame").evaluate("f => f.getBoundingClientRect().height")
    assert 0 < height < 150  # sized to its content, not the default
    page.context.close()
