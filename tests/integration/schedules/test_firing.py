"""Firing through the store on SQLite and PostgreSQL: one job per fire time, exactly once,
with the overlap and misfire policies, stop/start, and references that no longer hold.

Most tests drive `Scheduler.run_once(now)` with the clock they choose; the last one runs
the scheduler thread on the real clock.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.service.scheduler import Scheduler
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store import schedules as schedule_store
from tests.conftest import TenantClient
from tests.integration.jobs.api import JOBS
from tests.integration.schedules.conftest import (
    SCHEDULES,
    create,
    firings,
    iso,
    next_fire,
    schedule_jobs,
    stored,
)

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def test_each_fire_time_creates_one_job_with_the_schedules_references(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body, overlap="allow", parameters={"city": "Munich"})
    t = next_fire(services, tenant_a, schedule["id"])
    assert scheduler.run_once(t - SECOND / 2) == []  # not due yet
    for now in (t, t + SECOND, t + SECOND, t + 2 * SECOND + SECOND / 5):
        scheduler.run_once(now)
    jobs = schedule_jobs(client, tenant_a, schedule["id"])
    assert len(jobs) == 3
    for job in jobs:
        assert job["status"] == "SUBMITTED"
        assert job["createdBy"] == "tenant-a"
        assert job["parameters"] == {"city": "Munich"}
        assert job["maximumExecutionTimeInSeconds"] == "3600"
        for field in ("modelId", "configurationId", "inputFolderId", "outputFolderId"):
            assert job[field] == body[field]
    fired = firings(client, tenant_a, schedule["id"])
    assert [f["fireTime"] for f in fired] == [iso(t + n * SECOND) for n in range(3)]
    assert [f["outcome"] for f in fired] == ["created"] * 3
    assert {f["jobId"] for f in fired} == {job["id"] for job in jobs}
    assert next_fire(services, tenant_a, schedule["id"]) == t + 3 * SECOND


def test_replicas_firing_at_once_create_one_job_per_fire_time(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    settings: Settings,
    services: Services,
) -> None:
    """Three schedulers, each with its own connection pool, race on every fire time."""
    schedule = create(client, tenant_a, body, overlap="allow")
    t = next_fire(services, tenant_a, schedule["id"])
    replicas = [Services.open(settings, migrate=False) for _ in range(3)]
    dispatcher = client.app.state.dispatcher  # type: ignore[attr-defined]
    schedulers = [Scheduler(replica.store, dispatcher) for replica in replicas]
    created: list[str] = []
    barrier = threading.Barrier(len(schedulers))

    def replica(scheduler: Scheduler) -> None:
        for n in range(8):
            barrier.wait()
            created.extend(scheduler.run_once(t + n * SECOND))

    threads = [threading.Thread(target=replica, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for replica_services in replicas:
        replica_services.close()
    jobs = schedule_jobs(client, tenant_a, schedule["id"])
    assert sorted(created) == sorted(job["id"] for job in jobs)
    assert len(jobs) == 8
    fired = firings(client, tenant_a, schedule["id"])
    assert [f["fireTime"] for f in fired] == [iso(t + n * SECOND) for n in range(8)]


def test_a_fire_time_while_the_previous_job_runs_is_skipped_by_default(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body)
    t = next_fire(services, tenant_a, schedule["id"])
    (first,) = scheduler.run_once(t)
    assert scheduler.run_once(t + SECOND) == []
    skipped = firings(client, tenant_a, schedule["id"])[-1]
    assert skipped["outcome"] == "skipped" and skipped["jobId"] is None
    assert first in skipped["reason"] and "SUBMITTED" in skipped["reason"]
    stopped = client.post(f"{JOBS}/{first}/stop", headers=tenant_a.headers).json()
    assert stopped["status"] == "STOPPED"
    (second,) = scheduler.run_once(t + 2 * SECOND)
    outcomes = [(f["outcome"], f["jobId"]) for f in firings(client, tenant_a, schedule["id"])]
    assert outcomes == [("created", first), ("skipped", None), ("created", second)]


def test_overlap_allow_fires_while_the_previous_job_runs(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body, overlap="allow")
    t = next_fire(services, tenant_a, schedule["id"])
    created = [job for n in range(3) for job in scheduler.run_once(t + n * SECOND)]
    assert len(set(created)) == 3
    statuses = {job["status"] for job in schedule_jobs(client, tenant_a, schedule["id"])}
    assert statuses == {"SUBMITTED"}


@pytest.mark.parametrize(("misfire", "jobs_expected"), [("once", 1), ("skip", 0), ("all", 11)])
def test_fire_times_missed_while_the_service_was_down(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
    misfire: str,
    jobs_expected: int,
) -> None:
    schedule = create(
        client, tenant_a, body, scheduleString="0 * * * * ?", misfire=misfire, overlap="allow"
    )
    t = next_fire(services, tenant_a, schedule["id"])
    scheduler.run_once(t + 10 * MINUTE + 30 * SECOND)  # back after 11 minute marks
    assert len(schedule_jobs(client, tenant_a, schedule["id"])) == jobs_expected
    fired = firings(client, tenant_a, schedule["id"])
    if misfire == "all":
        assert [f["fireTime"] for f in fired] == [iso(t + n * MINUTE) for n in range(11)]
    else:
        (only,) = fired
        assert only["fireTime"] == iso(t) and "missed" in only["reason"]
        assert only["outcome"] == ("created" if misfire == "once" else "skipped")
    assert next_fire(services, tenant_a, schedule["id"]) == t + 11 * MINUTE


def test_a_firing_whose_references_no_longer_hold_is_recorded_as_skipped(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body, overlap="allow")
    t = next_fire(services, tenant_a, schedule["id"])
    deleted = client.delete(
        f"/api/modelmanagement/v3/models/{body['modelId']}", headers=tenant_a.headers
    )
    assert deleted.status_code == 204, deleted.text
    assert scheduler.run_once(t) == []
    assert scheduler.run_once(t + SECOND) == []
    fired = firings(client, tenant_a, schedule["id"])
    assert [f["outcome"] for f in fired] == ["skipped", "skipped"]
    assert all("modelId" in f["reason"] for f in fired)
    assert schedule_jobs(client, tenant_a, schedule["id"]) == []
    assert next_fire(services, tenant_a, schedule["id"]) == t + 2 * SECOND


def test_a_stopped_schedule_creates_nothing_and_start_resumes_from_now(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body, scheduleString="0 * * * * ?", misfire="all")
    t = next_fire(services, tenant_a, schedule["id"])
    client.post(f"{SCHEDULES}/{schedule['id']}/stop", headers=tenant_a.headers)
    assert scheduler.run_once(t + 3 * MINUTE) == []
    assert firings(client, tenant_a, schedule["id"]) == []
    tenant_id = stored(services, tenant_a, schedule["id"]).tenant_id
    services.store.schedules.start(tenant_id, schedule["id"], now=t + 3 * MINUTE + 10 * SECOND)
    assert next_fire(services, tenant_a, schedule["id"]) == t + 4 * MINUTE
    (job,) = scheduler.run_once(t + 4 * MINUTE)
    (fired,) = firings(client, tenant_a, schedule["id"])
    assert (fired["fireTime"], fired["jobId"]) == (iso(t + 4 * MINUTE), job)


def test_deleting_a_schedule_keeps_the_jobs_it_created(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
) -> None:
    schedule = create(client, tenant_a, body, overlap="allow")
    t = next_fire(services, tenant_a, schedule["id"])
    created = scheduler.run_once(t) + scheduler.run_once(t + SECOND)
    assert client.delete(f"{SCHEDULES}/{schedule['id']}", headers=tenant_a.headers).status_code == (
        204
    )
    assert scheduler.run_once(t + 2 * SECOND) == []
    for job_id in created:
        job = client.get(f"{JOBS}/{job_id}", headers=tenant_a.headers)
        assert job.status_code == 200 and job.json()["scheduleId"] == schedule["id"]


def test_the_scheduler_thread_fires_a_second_level_schedule_on_the_real_clock(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    scheduler: Scheduler,
) -> None:
    scheduler.start()
    try:
        schedule = create(client, tenant_a, body, overlap="allow")
        deadline = time.monotonic() + 30
        while len(firings(client, tenant_a, schedule["id"])) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        client.post(f"{SCHEDULES}/{schedule['id']}/stop", headers=tenant_a.headers)
    finally:
        scheduler.stop()
    fired = firings(client, tenant_a, schedule["id"])
    assert len(fired) >= 3
    assert all(f["outcome"] == "created" for f in fired)
    assert all(f["fireTime"].endswith(".000Z") for f in fired)
    seconds = [datetime.fromisoformat(f["fireTime"].replace("Z", "+00:00")) for f in fired]
    assert seconds == [seconds[0] + n * SECOND for n in range(len(fired))]  # none missed
    jobs = schedule_jobs(client, tenant_a, schedule["id"])
    assert sorted(job["id"] for job in jobs) == sorted(f["jobId"] for f in fired)


def test_only_the_newest_firings_are_kept(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    services: Services,
    scheduler: Scheduler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schedule_store, "KEPT_FIRINGS", 3)
    schedule = create(client, tenant_a, body, overlap="allow")
    t = next_fire(services, tenant_a, schedule["id"])
    for n in range(5):
        scheduler.run_once(t + n * SECOND)
    fired = firings(client, tenant_a, schedule["id"])
    assert [f["fireTime"] for f in fired] == [iso(t + n * SECOND) for n in (2, 3, 4)]
    assert len(schedule_jobs(client, tenant_a, schedule["id"])) == 5  # jobs are not pruned
