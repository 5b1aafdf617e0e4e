"""Schedules through HTTP on SQLite and PostgreSQL, with runnable references made by the API.

This process runs no jobs (`job_slots = 0`): the jobs a firing creates stay `SUBMITTED`,
and the tests check their creation. The app's own scheduler is off; tests fire with
a `Scheduler` driven by a clock they choose, or start one on the real clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.api.schemas import timestamp
from jobmanager.service.scheduler import Scheduler
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.schedules import ScheduleRecord
from tests.conftest import TenantClient
from tests.integration.jobs.api import JOBS, runnable_references

SCHEDULES = "/api/jobmanager/v3/schedules"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    return settings


@pytest.fixture
def body(client: TestClient, tenant_a: TenantClient) -> dict[str, Any]:
    """A valid schedule body whose references a job can run."""
    return {
        "name": "Every second",
        **runnable_references(client, tenant_a),
        "maximumExecutionTime": 3600,
        "scheduleString": "*/1 * * * * ?",
    }


@pytest.fixture
def scheduler(client: TestClient, services: Services) -> Scheduler:
    """A scheduler over the test's store; `run_once(now)` fires what is due at `now`."""
    return Scheduler(services.store, client.app.state.dispatcher)  # type: ignore[attr-defined]


def create(client: TestClient, tenant: TenantClient, body: dict[str, Any], **changes: Any) -> Any:
    answer = client.post(SCHEDULES, headers=tenant.headers, json={**body, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


def stored(services: Services, tenant: TenantClient, schedule_id: str) -> ScheduleRecord:
    """The stored schedule, with the `next_fire_at` the scheduler reads."""
    tenant_id = services.store.tenants.get_by_name(tenant.name).id
    return services.store.schedules.get(tenant_id, schedule_id)


def next_fire(services: Services, tenant: TenantClient, schedule_id: str) -> datetime:
    moment = stored(services, tenant, schedule_id).next_fire_at
    assert moment is not None
    return moment


def firings(client: TestClient, tenant: TenantClient, schedule_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"{SCHEDULES}/{schedule_id}/firings", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["firings"]))  # oldest first


def schedule_jobs(
    client: TestClient, tenant: TenantClient, schedule_id: str
) -> list[dict[str, Any]]:
    jobs = client.get(JOBS, headers=tenant.headers).json()["jobs"]
    return [job for job in reversed(jobs) if job["scheduleId"] == schedule_id]


def iso(moment: datetime) -> str:
    return timestamp(moment)
