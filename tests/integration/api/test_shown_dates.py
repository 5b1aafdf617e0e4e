"""Date filters take the dates the API shows: a `creationDate` or `modifiedDate` answered by
the service matches itself under `eq` and is excluded by `after`/`gt` (and by `before`), on
SQLite and PostgreSQL, for jobs, schedules and Data Exchange entries. The store keeps
microseconds; the API shows milliseconds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.api.schemas import timestamp
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient
from tests.integration.jobs.api import (
    DX,
    JOBS,
    make_folder,
    runnable_references,
    upload_file,
)

SCHEDULES = "/api/jobmanager/v3/schedules"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0  # jobs stay SUBMITTED: nothing changes them while the test reads
    return settings


@pytest.fixture
def references(client: TestClient, tenant_a: TenantClient) -> dict[str, Any]:
    return runnable_references(client, tenant_a)


def listed_ids(
    client: TestClient, tenant: TenantClient, url: str, key: str, flt: dict[str, Any]
) -> list[str]:
    answer = client.get(url, headers=tenant.headers, params={"filter": json.dumps(flt)})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()[key]]


def check_shown_date(
    client: TestClient, tenant: TenantClient, url: str, key: str, field: str, item: dict[str, Any]
) -> None:
    shown = item[field]
    for operator, expected in [
        ("eq", [item["id"]]),
        ("after", []),
        ("gt", []),
        ("before", []),
        ("lt", []),
    ]:
        found = listed_ids(client, tenant, url, key, {field: {operator: shown}})
        assert found == expected, f"{field} {operator} {shown}"
    assert listed_ids(client, tenant, url, key, {field: shown}) == [item["id"]]
    moment = datetime.fromisoformat(shown.replace("Z", "+00:00"))
    one_ms = timedelta(milliseconds=1)
    around = {"after": timestamp(moment - one_ms), "before": timestamp(moment + one_ms)}
    assert listed_ids(client, tenant, url, key, {field: around}) == [item["id"]]


def test_a_jobs_creation_date_matches_itself(
    client: TestClient, tenant_a: TenantClient, references: dict[str, Any]
) -> None:
    answer = client.post(JOBS, headers=tenant_a.headers, json=references)
    assert answer.status_code == 201, answer.text
    check_shown_date(client, tenant_a, JOBS, "jobs", "creationDate", answer.json())


def test_a_schedules_creation_date_matches_itself(
    client: TestClient, tenant_a: TenantClient, references: dict[str, Any]
) -> None:
    body = {**references, "name": "daily", "scheduleString": "0 9 * * *"}
    answer = client.post(SCHEDULES, headers=tenant_a.headers, json=body)
    assert answer.status_code == 201, answer.text
    check_shown_date(client, tenant_a, SCHEDULES, "schedules", "creationDate", answer.json())


def test_a_files_and_a_folders_modified_date_match_themselves(
    client: TestClient, tenant_a: TenantClient
) -> None:
    parent = make_folder(client, tenant_a, "dated")
    url = f"{DX}/directories/{parent}"
    file_id = upload_file(client, tenant_a, parent, "a.csv", b"x,y\n")
    file = client.get(f"{DX}/files/{file_id}/properties", headers=tenant_a.headers).json()
    check_shown_date(client, tenant_a, url, "files", "modifiedDate", file)
    folder_id = client.post(
        f"{DX}/directories", headers=tenant_a.headers, json={"name": "sub", "parentId": parent}
    ).json()["id"]
    folder = client.get(f"{DX}/directories/{folder_id}/properties", headers=tenant_a.headers)
    check_shown_date(client, tenant_a, url, "directories", "modifiedDate", folder.json())
