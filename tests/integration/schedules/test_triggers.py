"""Data-arrival triggers through HTTP on SQLite and PostgreSQL: a schedule fires on new
or changed files of a folder, once per settled batch of arrivals, listing the files.

Tests fire with `Scheduler.fire_arrivals(now)` at a clock they choose, except the last
one, which runs the scheduler's loops on the real clock.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.service.scheduler import Scheduler
from jobmanager.store.types import utcnow
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import DX, JOBS, make_folder, upload_file
from tests.integration.schedules.conftest import SCHEDULES, create, firings, schedule_jobs


@pytest.fixture
def watched(client: TestClient, tenant_a: TenantClient) -> str:
    return make_folder(client, tenant_a, "incoming")


@pytest.fixture
def trigger_body(body: dict[str, Any], watched: str) -> dict[str, Any]:
    """A data-arrival schedule's body: the cron string replaced by a trigger on *.csv."""
    without_cron = {k: v for k, v in body.items() if k != "scheduleString"}
    return {**without_cron, "trigger": {"folderId": watched, "pattern": "*.csv"}}


def test_a_trigger_schedule_is_answered_with_its_trigger_and_no_fire_times(
    client: TestClient, tenant_a: TenantClient, trigger_body: dict[str, Any], watched: str
) -> None:
    schedule = create(client, tenant_a, trigger_body)
    assert schedule["trigger"] == {"folderId": watched, "pattern": "*.csv", "debounceSeconds": 0}
    assert schedule["scheduleString"] == ""
    assert schedule["nextFireTimes"] == []
    assert schedule["status"] == "RUNNING"
    read = client.get(f"{SCHEDULES}/{schedule['id']}", headers=tenant_a.headers).json()
    assert read["trigger"] == schedule["trigger"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"scheduleString": "*/1 * * * * ?"}, "exactly one"),  # both
        ({"trigger": None}, "trigger: Value error, must not be null"),
        ({"trigger": "drop"}, "exactly one"),  # neither
        ({"trigger": {"folderId": "no-such-folder"}}, "trigger.folderId"),
        ({"trigger": {"folderId": "F", "debounceSeconds": -1}}, "debounceSeconds"),
        ({"trigger": {"folderId": "F", "pattern": ""}}, "pattern"),
        ({"trigger": {"folderId": "F", "surprise": 1}}, "surprise"),
    ],
)
def test_bad_triggers_answer_400_naming_the_field(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    changes: dict[str, Any],
    named: str,
) -> None:
    body = {**trigger_body, **changes}
    if body.get("trigger") == "drop":
        del body["trigger"]
    if isinstance(body.get("trigger"), dict) and body["trigger"].get("folderId") == "F":
        body["trigger"] = {**body["trigger"], "folderId": watched}
    error = assert_error(client.post(SCHEDULES, headers=tenant_a.headers, json=body), 400)
    assert named in error["message"]


def test_another_tenants_folder_cannot_be_watched(
    client: TestClient,
    tenant_a: TenantClient,
    tenant_b: TenantClient,
    trigger_body: dict[str, Any],
) -> None:
    theirs = make_folder(client, tenant_b, "theirs")
    body = {**trigger_body, "trigger": {"folderId": theirs}}
    error = assert_error(client.post(SCHEDULES, headers=tenant_a.headers, json=body), 400)
    assert "trigger.folderId" in error["message"]


def test_matching_uploads_fire_one_job_listing_the_files(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, trigger_body)
    assert scheduler.fire_arrivals() == []  # nothing arrived
    upload_file(client, tenant_a, watched, "a.csv", b"1")
    upload_file(client, tenant_a, watched, "b.csv", b"22")
    upload_file(client, tenant_a, watched, "notes.txt", b"not watched")
    created = scheduler.fire_arrivals()
    assert len(created) == 1
    assert scheduler.fire_arrivals() == []  # fired once
    (fired,) = firings(client, tenant_a, schedule["id"])
    assert fired["outcome"] == "created" and fired["jobId"] == created[0]
    assert [(f["name"], f["sizeInBytes"]) for f in fired["files"]] == [("a.csv", 1), ("b.csv", 2)]
    (job,) = schedule_jobs(client, tenant_a, schedule["id"])
    assert job["id"] == created[0] and job["status"] == "SUBMITTED"


def test_a_replaced_or_renamed_file_is_an_arrival(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, {**trigger_body, "overlap": "allow"})
    draft = upload_file(client, tenant_a, watched, "draft.txt", b"x")
    assert scheduler.fire_arrivals() == []
    renamed = client.patch(
        f"{DX}/files/{draft}/properties", headers=tenant_a.headers, json={"name": "final.csv"}
    )
    assert renamed.status_code == 200, renamed.text
    assert len(scheduler.fire_arrivals()) == 1
    replaced = client.put(
        f"{DX}/files/{draft}",
        headers=tenant_a.headers,
        files={"file": ("final.csv", b"new content", "text/csv")},
    )
    assert replaced.status_code == 200, replaced.text
    assert len(scheduler.fire_arrivals()) == 1
    fired = firings(client, tenant_a, schedule["id"])
    assert [[f["name"] for f in firing["files"]] for firing in fired] == [
        ["final.csv"],
        ["final.csv"],
    ]
    assert fired[1]["files"][0]["sizeInBytes"] == len(b"new content")


def test_debounce_waits_for_the_uploads_to_settle(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    body = {**trigger_body, "trigger": {**trigger_body["trigger"], "debounceSeconds": 30}}
    schedule = create(client, tenant_a, body)
    upload_file(client, tenant_a, watched, "1.csv", b"1")
    upload_file(client, tenant_a, watched, "2.csv", b"2")
    assert scheduler.fire_arrivals(utcnow() + timedelta(seconds=20)) == []
    assert len(scheduler.fire_arrivals(utcnow() + timedelta(seconds=31))) == 1
    (fired,) = firings(client, tenant_a, schedule["id"])
    assert [f["name"] for f in fired["files"]] == ["1.csv", "2.csv"]


def test_with_overlap_skip_arrivals_wait_for_the_running_job(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, trigger_body)  # overlap: skip, the default
    upload_file(client, tenant_a, watched, "1.csv", b"1")
    (first,) = scheduler.fire_arrivals()
    upload_file(client, tenant_a, watched, "2.csv", b"2")
    assert scheduler.fire_arrivals() == []  # the first job has not ended: 2.csv waits
    stopped = client.post(f"{JOBS}/{first}/stop", headers=tenant_a.headers)
    assert stopped.status_code == 200, stopped.text
    assert len(scheduler.fire_arrivals()) == 1
    fired = firings(client, tenant_a, schedule["id"])
    assert [[f["name"] for f in firing["files"]] for firing in fired] == [["1.csv"], ["2.csv"]]


def test_a_stopped_schedule_forgets_what_arrived_and_fires_again_once_started(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, trigger_body)
    path = f"{SCHEDULES}/{schedule['id']}"
    upload_file(client, tenant_a, watched, "before-stop.csv", b"1")
    assert client.post(f"{path}/stop", headers=tenant_a.headers).json()["status"] == "STOPPED"
    upload_file(client, tenant_a, watched, "while-stopped.csv", b"2")
    assert scheduler.fire_arrivals() == []
    started = client.post(f"{path}/start", headers=tenant_a.headers).json()
    assert started["status"] == "RUNNING" and started["nextFireTimes"] == []
    assert scheduler.fire_arrivals() == []
    upload_file(client, tenant_a, watched, "after-start.csv", b"3")
    assert len(scheduler.fire_arrivals()) == 1
    (fired,) = firings(client, tenant_a, schedule["id"])
    assert [f["name"] for f in fired["files"]] == ["after-start.csv"]


def test_concurrent_firers_fire_each_arrival_exactly_once(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    """Four firers race while files arrive: every file is in exactly one firing, and
    every firing made exactly one job."""
    schedule = create(client, tenant_a, {**trigger_body, "overlap": "allow"})
    uploads = 20
    done = threading.Event()
    created: list[str] = []

    def fire() -> None:
        while not done.is_set():
            created.extend(scheduler.fire_arrivals())
            time.sleep(0.005)

    firers = [threading.Thread(target=fire, daemon=True) for _ in range(4)]
    for firer in firers:
        firer.start()
    try:
        for n in range(uploads):
            upload_file(client, tenant_a, watched, f"{n:02}.csv", b"x")
        time.sleep(0.5)
    finally:
        done.set()
        for firer in firers:
            firer.join()
    created.extend(scheduler.fire_arrivals())
    fired = firings(client, tenant_a, schedule["id"])
    names = [f["name"] for firing in fired for f in firing["files"]]
    assert sorted(names) == [f"{n:02}.csv" for n in range(uploads)]
    assert sorted(created) == sorted(f["jobId"] for f in fired)
    assert len(schedule_jobs(client, tenant_a, schedule["id"])) == len(fired)


def test_the_scheduler_loop_fires_an_upload_within_a_second(
    client: TestClient,
    tenant_a: TenantClient,
    trigger_body: dict[str, Any],
    watched: str,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, trigger_body)
    scheduler.start()
    try:
        upload_file(client, tenant_a, watched, "live.csv", b"1")
        deadline = time.monotonic() + 10
        while not schedule_jobs(client, tenant_a, schedule["id"]):
            assert time.monotonic() < deadline, "no job after the upload"
            time.sleep(0.05)
    finally:
        scheduler.stop()
