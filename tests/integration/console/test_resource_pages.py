"""The console's resource pages over HTTP: models, Data Exchange, configurations and
schedules, through the same store and rules as the API, XSRF on every change."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from jobmanager.domain.firings import FiringPlan, PlannedFiring
from jobmanager.startup.services import Services
from jobmanager.store.blobs import LocalBlobStore
from jobmanager.store.types import utcnow
from tests.conftest import TenantClient, make_tenant
from tests.html_fragments import Element, parse, table_cells
from tests.integration.console.conftest import sign_in
from tests.integration.jobs.api import runnable_references, zeppelin_note

MODELS = "/api/modelmanagement/v3/models"
FILES = "/api/dataexchange/v3/files"


def session_upload(
    client: TestClient, url: str, token: str, metadata: dict[str, str], name: str, data: bytes
) -> dict[str, str]:
    """An upload as static/upload.js sends it: the session cookie and the XSRF header."""
    answer = client.post(
        url,
        headers={"X-XSRF-TOKEN": token},
        files={"metadata": (None, json.dumps(metadata)), "file": (name, data, "")},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def error_text(answer: httpx.Response) -> str:
    """The error a page shows, in words."""
    return parse(answer.text).with_class("error")[0].text


def texts(html: str, tag: str) -> list[str]:
    return texts_of(parse(html), tag)


def texts_of(root: Element, tag: str) -> list[str]:
    return [e.text.strip() for e in root.iter(tag)]


def test_models_upload_list_download_and_delete(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    token = sign_in(idle_client, tenant)
    note = zeppelin_note("%python\nprint(1)")
    model = session_upload(idle_client, "/models/upload", token, {"name": "report"}, "r.zpln", note)
    listing = idle_client.get("/models").text
    assert [row[:3] for row in table_cells(parse(listing).iter("table")[0])[1:]] == [
        ["report", "zeppelin", "1"]
    ]
    session_upload(idle_client, f"/models/{model['id']}/upload", token, {}, "v2.zpln", note)
    page = idle_client.get(f"/models/{model['id']}").text
    versions = table_cells(parse(page).iter("table")[0])[1:]
    assert [(row[0], row[1]) for row in versions] == [("1", "r.zpln"), ("2", "v2.zpln")]
    [link] = [a for a in parse(page).iter("a") if a.text == "r.zpln"]
    download = idle_client.get(link.attrs["href"])
    assert download.content == note
    assert 'filename="r.zpln"' in download.headers["content-disposition"]

    first_id = link.attrs["href"].split("/")[-2]
    delete = f"/models/{model['id']}/versions/{first_id}/delete"
    assert idle_client.post(delete).status_code == 403  # no XSRF token
    answer = idle_client.post(delete, data={"xsrf_token": token})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/models/{model['id']}")
    answer = idle_client.post(f"/models/{model['id']}/delete", data={"xsrf_token": token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/models")
    assert idle_client.get(f"/models/{model['id']}").status_code == 404
    assert "No models yet" in idle_client.get("/models").text


def test_an_upload_under_a_taken_name_is_offered_as_a_version_and_others_are_refused(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    token = sign_in(idle_client, tenant)
    note = zeppelin_note("%python\nprint(1)")
    model = session_upload(idle_client, "/models/upload", token, {"name": "daily"}, "d.zpln", note)
    offer = parse(idle_client.get("/models/named?name=Daily").text)
    [version, new] = offer.iter("button")
    assert (version.text, version.attrs["data-upload-to"]) == (
        "version 2 of daily",
        f"/models/{model['id']}/upload",
    )
    assert new.attrs["data-upload-to"] == "/models/upload"
    assert idle_client.get("/models/named?name=weekly").text.strip() == ""

    blobs = stored_files(services)
    to_version = version.attrs["data-upload-to"]
    for url, metadata in (("/models/upload", '{"name": "notes"}'), (to_version, "{}")):
        refused = idle_client.post(
            url,
            headers={"X-XSRF-TOKEN": token},
            files={"metadata": (None, metadata), "file": ("notes.txt", b"hello", "")},
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"] == (
            "notes.txt is not a model a job can run: upload a Zeppelin note (.zpln, or a "
            "note.json) or a Jupyter notebook (.ipynb, nbformat 4 or 3)"
        )
    assert stored_files(services) == blobs  # nothing kept
    listing = table_cells(parse(idle_client.get("/models").text).iter("table")[0])[1:]
    assert [row[:3] for row in listing] == [["daily", "zeppelin", "1"]]

    # The API stores any payload (SPEC); Submit never offers one a job cannot run.
    answer = idle_client.post(
        MODELS,
        headers=tenant.headers,
        files={"metadata": (None, '{"name": "template"}'), "file": ("t.json", b"{}", "")},
    )
    assert answer.status_code == 201
    submit = idle_client.get("/submit").text
    assert "daily" in submit and "template" not in submit


def stored_files(services: Services) -> list[Path]:
    assert isinstance(services.store.blobs, LocalBlobStore)
    return sorted(path for path in services.store.blobs.root.rglob("*") if path.is_file())


def test_data_folders_uploads_rename_and_delete(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    token = sign_in(idle_client, tenant)
    assert idle_client.get("/data").headers["location"] == "/data/folders/_PUBLIC_ROOT_ID"
    made = idle_client.post(
        "/data/folders/_PUBLIC_ROOT_ID/folders", data={"xsrf_token": token, "name": "inputs"}
    )
    assert made.status_code == 303
    root = idle_client.get("/data/folders/_PUBLIC_ROOT_ID").text
    [folder_link] = [a for a in parse(root).iter("a") if a.text.endswith("inputs")]
    folder = folder_link.attrs["href"]
    folder_id = folder.rsplit("/", 1)[1]
    metadata = {"parentId": folder_id, "name": "sensors.csv"}
    upload = session_upload(idle_client, FILES, token, metadata, "sensors.csv", b"a,b\n1,2\n")
    page = idle_client.get(folder).text
    [path] = parse(page).with_class("crumbs")
    assert [li.text for li in path.iter("li")] == ["public", "inputs"]
    assert [row[0] for row in table_cells(parse(page).iter("table")[0])[1:]] == ["sensors.csv"]

    rename = f"/data/entries/{upload['id']}/rename"
    fields = {"xsrf_token": token, "kind": "file", "name": "readings.csv"}
    assert idle_client.post(rename, data=fields).headers["location"] == folder
    bad = idle_client.post(rename, data={**fields, "name": "a/b"})
    assert bad.status_code == 400
    assert "'/'" in error_text(bad)
    assert idle_client.get(f"{FILES}/{upload['id']}").content == b"a,b\n1,2\n"
    assert "readings.csv" in idle_client.get(folder).text

    other = make_tenant(services, idle_client, "console-b")
    sign_in(idle_client, other)
    assert idle_client.get(folder).status_code == 404
    token = sign_in(idle_client, tenant)
    delete = f"/data/entries/{folder_id}/delete"
    answer = idle_client.post(delete, data={"xsrf_token": token, "kind": "folder"})
    assert answer.headers["location"] == "/data/folders/_PUBLIC_ROOT_ID"
    assert idle_client.get(folder).status_code == 404


def test_configurations_are_made_by_the_api_rules(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    token = sign_in(idle_client, tenant)
    assert "No configurations yet" in idle_client.get("/configurations").text
    form = idle_client.get("/configurations/new").text
    labelled = {e.attrs["for"] for e in parse(form).iter("label")}
    fields = [e for e in parse(form).iter() if e.tag in ("input", "select", "textarea")]
    assert {e.attrs["id"] for e in fields if e.attrs.get("type") != "hidden"} <= labelled
    good = {
        "xsrf_token": token,
        "name": "small",
        "packages": "scipy==1.13.1\n\n",
        "memory_mib": "512",
        "cpus": "0.5",
        "max_environments": "2",
        "when_busy": "fail",
        "variables": "REGION=eu-1",
    }
    answer = idle_client.post("/configurations", data=good)
    assert answer.status_code == 303, answer.text
    shown = idle_client.get(answer.headers["location"]).text
    assert "scipy==1.13.1" in shown and "512 MiB" in shown and "fail the job" in shown
    assert "REGION" in shown
    assert [
        row[0]
        for row in table_cells(parse(idle_client.get("/configurations").text).iter("table")[0])[1:]
    ] == ["small"]
    too_small = idle_client.post("/configurations", data={**good, "memory_mib": "12"})
    assert too_small.status_code == 400
    assert "resources.memoryMiB" in error_text(too_small)
    not_number = idle_client.post("/configurations", data={**good, "cpus": "many"})
    assert error_text(not_number) == "cpus: 'many' is not a number"


def test_schedule_form_fire_times_start_stop_and_skipped_firings(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    token = sign_in(idle_client, tenant)
    preview = idle_client.get(
        "/schedules/fire-times", params={"schedule_string": "0 6 * * *", "timezone": "UTC"}
    )
    assert len(texts(preview.text, "li")) == 5
    assert all(t.endswith("06:00:00") for t in texts(preview.text, "li"))
    wrong = idle_client.get("/schedules/fire-times", params={"schedule_string": "0 6 * *"})
    assert texts(wrong.text, "p") == [
        "expected 5 fields (cron) or 6-7 fields (Quartz, seconds first), got 4"
    ]
    fields = {
        "xsrf_token": token,
        "name": "mornings",
        "model": refs["modelId"],
        "configuration": refs["configurationId"],
        "input_folder": refs["inputFolderId"],
        "output_folder": refs["outputFolderId"],
        "schedule_string": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "extra_parameters": '{"days": 3}',
    }
    bad = idle_client.post("/schedules", data={**fields, "schedule_string": "0 25 * * *"})
    assert bad.status_code == 400
    assert error_text(bad) == "scheduleString: hour: 25 is outside 0-23 in '25'"
    answer = idle_client.post("/schedules", data=fields)
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    page = idle_client.get(url).text
    assert len(parse(page).with_class("fire-times")[0].iter("li")) == 5
    assert "RUNNING" in page and "Europe/Berlin" in page
    facts = parse(page).with_class("facts")[0]
    shown = dict(zip(texts_of(facts, "dt"), texts_of(facts, "dd"), strict=True))
    assert [shown[k] for k in ("Model", "Configuration", "Input folder", "Output folder")] == [
        "m",
        "conf",
        "public/in",
        "public/out",
    ]

    schedule_id = url.rsplit("/", 1)[1]
    tenant_id = services.store.tenants.active_client(tenant.client_id)
    assert tenant_id is not None
    record = services.store.schedules.get(tenant_id, schedule_id)
    assert record.next_fire_at is not None
    now = utcnow()
    skipped = PlannedFiring(now - timedelta(minutes=1), False, "the previous job is still live")
    services.store.schedules.fire(
        FiringPlan(schedule_id, record.next_fire_at, (skipped,), now + timedelta(days=1))
    )
    assert idle_client.post(f"{url}/stop").status_code == 403
    assert idle_client.post(f"{url}/stop", data={"xsrf_token": token}).status_code == 303
    page = idle_client.get(url).text
    assert "none: it is stopped" in page
    [firing] = table_cells(parse(page).iter("table")[0])[1:]
    assert firing[1:] == ["skipped", "the previous job is still live"]
    listing = table_cells(parse(idle_client.get("/schedules").text).iter("table")[0])
    assert [row[:2] for row in listing[1:]] == [["mornings", "STOPPED"]]


def test_every_control_of_the_resource_pages_has_a_label(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    token = sign_in(idle_client, tenant)
    fields = {
        "xsrf_token": token,
        "model": refs["modelId"],
        "configuration": refs["configurationId"],
        "input_folder": refs["inputFolderId"],
        "output_folder": refs["outputFolderId"],
        "schedule_string": "@daily",
    }
    schedule = idle_client.post("/schedules", data=fields).headers["location"]
    pages = [
        "/models",
        f"/models/{refs['modelId']}",
        "/data/folders/_PUBLIC_ROOT_ID",
        f"/data/folders/{refs['inputFolderId']}",
        "/configurations",
        "/configurations/new",
        f"/configurations/{refs['configurationId']}",
        "/schedules",
        "/schedules/new",
        schedule,
    ]
    for path in pages:
        answer = idle_client.get(path)
        assert answer.status_code == 200, path
        root = parse(answer.text)
        labelled = {label.attrs.get("for") for label in root.iter("label")}
        controls = [e for e in root.iter() if e.tag in ("input", "select", "textarea")]
        unlabelled = [
            e.attrs.get("name")
            for e in controls
            if e.attrs.get("type") != "hidden"
            and e.attrs.get("id") not in labelled
            and "aria-label" not in e.attrs
        ]
        assert unlabelled == [], path
        buttons = [b for b in root.iter("button") if not b.text.strip()]
        assert buttons == [], path
