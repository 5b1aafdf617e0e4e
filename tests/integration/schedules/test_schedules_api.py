"""The schedules API through HTTP: create, read, list, filter, start, stop, delete, tenancy."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.domain.parameters import MAX_PARAMETERS_BYTES
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import upload_model
from tests.integration.schedules.conftest import SCHEDULES, create

FIELDS = {
    "id",
    "name",
    "modelId",
    "configurationId",
    "inputFolderId",
    "outputFolderId",
    "maximumExecutionTime",
    "scheduleString",
    "status",
    "creationDate",
    "createdBy",
}


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def count(client: TestClient, tenant: TenantClient) -> int:
    return int(client.get(SCHEDULES, headers=tenant.headers).json()["page"]["totalElements"])


def test_create_answers_the_schedule_running_with_its_next_fire_times(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    schedule = create(client, tenant_a, body, maximumExecutionTime="7200")
    assert set(schedule) >= FIELDS
    assert schedule["status"] == "RUNNING"
    assert schedule["name"] == "Every second"
    assert schedule["maximumExecutionTime"] == "7200"
    assert schedule["createdBy"] == "tenant-a"
    assert schedule["creationDate"].endswith("Z") and len(schedule["creationDate"]) == 24
    assert (schedule["timezone"], schedule["misfire"], schedule["overlap"]) == (
        "UTC",
        "once",
        "skip",
    )
    times = [parse_time(t) for t in schedule["nextFireTimes"]]
    assert len(times) == 5
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [1.0] * 4
    assert (
        client.get(f"{SCHEDULES}/{schedule['id']}", headers=tenant_a.headers).json()["id"]
        == (schedule["id"])
    )


@pytest.mark.parametrize(
    ("expression", "timezone", "first_hour_utc"),
    [
        ("0 15 10 * * ?", "UTC", 10),  # Quartz, the docs' example
        ("0 15 10 ? * * 2099", "UTC", 10),  # Quartz with a year
        ("15 10 * * *", "UTC", 10),  # classic cron, as the official client's template
        ("0 15 10 * * ?", "Asia/Kolkata", 4),  # 10:15 in India is 04:45 UTC
    ],
)
def test_quartz_and_classic_cron_in_a_time_zone(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    expression: str,
    timezone: str,
    first_hour_utc: int,
) -> None:
    schedule = create(client, tenant_a, body, scheduleString=expression, timezone=timezone)
    assert schedule["timezone"] == timezone
    first = parse_time(schedule["nextFireTimes"][0])
    assert first.hour == first_hour_utc and first.minute in (15, 45) and first.second == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scheduleString": "0 0 25 * * ?"}, "scheduleString"),
        ({"scheduleString": "every day"}, "scheduleString"),
        ({"scheduleString": ""}, "scheduleString"),
        ({"scheduleString": "0 0 0 1 1 ? 2001"}, "scheduleString"),  # never fires again
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"maximumExecutionTime": "soon"}, "maximumExecutionTime"),
        ({"maximumExecutionTime": 0}, "maximumExecutionTime"),
        ({"maximumExecutionTime": 10**9}, "maximumExecutionTime"),
        ({"misfire": "sometimes"}, "misfire"),
        ({"overlap": "maybe"}, "overlap"),
        ({"parameters": [1, 2]}, "parameters"),
        ({"name": "   "}, "name"),
        ({"modelId": "nope"}, "modelId"),
        ({"configurationId": "nope"}, "configurationId"),
        ({"inputFolderId": "nope"}, "inputFolderId"),
        ({"outputFolderId": "nope"}, "outputFolderId"),
        ({"modelId": None}, "modelId"),
    ],
)
def test_bad_values_are_400_naming_the_field_and_nothing_is_stored(
    client: TestClient,
    tenant_a: TenantClient,
    body: dict[str, Any],
    changes: dict[str, Any],
    field: str,
) -> None:
    answer = client.post(SCHEDULES, headers=tenant_a.headers, json={**body, **changes})
    assert field in assert_error(answer, 400)["message"]
    assert count(client, tenant_a) == 0


def test_missing_fields_and_malformed_json_are_400(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    for field in (
        "modelId",
        "configurationId",
        "inputFolderId",
        "outputFolderId",
        "scheduleString",
    ):
        partial = {k: v for k, v in body.items() if k != field}
        answer = client.post(SCHEDULES, headers=tenant_a.headers, json=partial)
        assert field in assert_error(answer, 400)["message"]
    answer = client.post(
        SCHEDULES,
        headers={**tenant_a.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert_error(answer, 400)


def test_parameters_over_64_kib_are_400_naming_the_limit(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    too_many = {"text": "x" * MAX_PARAMETERS_BYTES}
    answer = client.post(SCHEDULES, headers=tenant_a.headers, json={**body, "parameters": too_many})
    message = assert_error(answer, 400)["message"]
    assert "parameters" in message and str(MAX_PARAMETERS_BYTES) in message
    assert count(client, tenant_a) == 0
    fitting = {"text": "x" * (MAX_PARAMETERS_BYTES - 20)}
    assert create(client, tenant_a, body, parameters=fitting)["parameters"] == fitting


def test_name_and_execution_time_are_optional(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    minimal = {k: v for k, v in body.items() if k not in ("name", "maximumExecutionTime")}
    schedule = create(client, tenant_a, minimal)
    assert schedule["name"] == ""
    assert schedule["maximumExecutionTime"] == "3600"


def test_a_model_that_is_not_a_notebook_is_refused(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    other = upload_model(client, tenant_a, b"just some bytes", name="data")
    answer = client.post(SCHEDULES, headers=tenant_a.headers, json={**body, "modelId": other})
    assert "modelId" in assert_error(answer, 400)["message"]


def test_stop_start_and_delete(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    schedule = create(client, tenant_a, body)
    url = f"{SCHEDULES}/{schedule['id']}"
    json_headers = {**tenant_a.headers, "Content-Type": "application/json", "Accept": "*/*"}
    stopped = client.post(f"{url}/stop", headers=json_headers)
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "STOPPED"
    assert stopped.json()["nextFireTimes"] == []
    assert client.post(f"{url}/stop", headers=json_headers).json()["status"] == "STOPPED"
    started = client.post(f"{url}/start", headers=json_headers)
    assert started.status_code == 200
    assert started.json()["status"] == "RUNNING"
    assert len(started.json()["nextFireTimes"]) == 5
    assert client.post(f"{url}/start", headers=json_headers).json()["status"] == "RUNNING"
    deleted = client.delete(url, headers=tenant_a.headers)
    assert deleted.status_code == 204
    assert_error(client.get(url, headers=tenant_a.headers), 404)
    assert_error(client.delete(url, headers=tenant_a.headers), 404)
    assert_error(client.post(f"{url}/start", headers=tenant_a.headers), 404)


def test_another_tenants_schedules_are_invisible(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient, body: dict[str, Any]
) -> None:
    schedule = create(client, tenant_a, body)
    url = f"{SCHEDULES}/{schedule['id']}"
    assert_error(client.get(url, headers=tenant_b.headers), 404)
    assert_error(client.post(f"{url}/stop", headers=tenant_b.headers), 404)
    assert_error(client.post(f"{url}/start", headers=tenant_b.headers), 404)
    assert_error(client.get(f"{url}/firings", headers=tenant_b.headers), 404)
    assert_error(client.delete(url, headers=tenant_b.headers), 404)
    assert count(client, tenant_b) == 0
    # Tenant b cannot name tenant a's model either.
    answer = client.post(SCHEDULES, headers=tenant_b.headers, json=body)
    assert "modelId" in assert_error(answer, 400)["message"]
    assert client.get(url, headers=tenant_a.headers).json()["status"] == "RUNNING"


def test_list_envelope_paging_and_filters(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    empty = client.get(SCHEDULES, headers=tenant_a.headers).json()
    assert empty["schedules"] == [] and empty["page"]["totalPages"] == 0
    names = ["Every 2 Months", "Nightly", "Hourly report"]
    made = [
        create(client, tenant_a, body, name=n, scheduleString=s)
        for n, s in zip(names, ["0 0 0 1 */2 ?", "0 0 2 * * ?", "0 * * * *"], strict=True)
    ]
    client.post(f"{SCHEDULES}/{made[1]['id']}/stop", headers=tenant_a.headers)
    listing = client.get(
        SCHEDULES,
        headers={**tenant_a.headers, "Content-Type": "application/json"},
        params={"pageNumber": 0, "pageSize": 2},
    ).json()
    assert [s["name"] for s in listing["schedules"]] == ["Hourly report", "Nightly"]
    assert listing["content"] == listing["schedules"]
    assert listing["page"] == {"number": 0, "size": 2, "totalPages": 2, "totalElements": 3}
    page_2 = client.get(SCHEDULES, headers=tenant_a.headers, params={"pageNumber": 2}).json()
    assert page_2["schedules"] == [] and page_2["page"]["totalElements"] == 3

    def names_for(flt: dict[str, Any]) -> list[str]:
        answer = client.get(SCHEDULES, headers=tenant_a.headers, params={"filter": json.dumps(flt)})
        assert answer.status_code == 200, answer.text
        return sorted(s["name"] for s in answer.json()["schedules"])

    assert names_for({"status": {"eq": "STOPPED"}}) == ["Nightly"]
    assert names_for({"status": "running"}) == ["Every 2 Months", "Hourly report"]
    assert names_for({"name": {"contains": "ly"}}) == ["Hourly report", "Nightly"]
    assert names_for({"name": {"eq": "Every 2 Months"}}) == ["Every 2 Months"]
    assert names_for({"scheduleString": "0 * * * *"}) == ["Hourly report"]
    assert names_for({"modelId": {"eq": body["modelId"]}}) == sorted(names)
    assert names_for({"creationDate": {"gt": "2018-06-23T20:09:00"}}) == sorted(names)
    assert names_for({"creationDate": {"before": "2018-06-23T20:09:00Z"}}) == []
    assert names_for({"name": {"contains": "ly"}, "status": {"eq": "RUNNING"}}) == ["Hourly report"]
    assert names_for(
        {"status": {"or": [{"eq": "STOPPED"}, {"eq": "RUNNING"}]}, "name": {"contains": "N"}}
    ) == ["Nightly"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "{not json"},
        {"filter": json.dumps({"message": "x"})},
        {"filter": json.dumps({"status": "PAUSED"})},
        {"pageSize": "1000"},
        {"pageNumber": "-1"},
    ],
)
def test_bad_list_queries_are_400(
    client: TestClient, tenant_a: TenantClient, params: dict[str, str]
) -> None:
    assert_error(client.get(SCHEDULES, headers=tenant_a.headers, params=params), 400)


def test_without_credentials_is_401(client: TestClient) -> None:
    assert_error(client.get(SCHEDULES), 401)
    assert_error(client.post(SCHEDULES, json={}), 401)
