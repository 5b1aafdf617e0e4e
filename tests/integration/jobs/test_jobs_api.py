"""The jobs API through HTTP: validation, references, tenancy, lists and stop of waiting jobs.

This process runs no jobs here (`job_slots = 0`), so jobs stay `SUBMITTED`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain.parameters import MAX_PARAMETERS_BYTES
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.types import utcnow
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import JOBS, create_configuration, upload_model, zeppelin_note


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    return settings


@pytest.fixture
def body(client: TestClient, tenant_a: TenantClient) -> dict[str, Any]:
    return {
        "modelId": upload_model(client, tenant_a, zeppelin_note("%python\nprint(1)")),
        "configurationId": create_configuration(client, tenant_a),
        "inputFolderId": "_PUBLIC_ROOT_ID",
        "outputFolderId": "_PRIVATE_ROOT_ID",
        "maximumExecutionTimeInSeconds": "7200",
    }


def job_count(client: TestClient, tenant: TenantClient) -> int:
    return int(client.get(JOBS, headers=tenant.headers).json()["page"]["totalElements"])


def test_create_answers_the_job_with_every_field(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    answer = client.post(JOBS, headers=tenant_a.headers, json=body)
    assert answer.status_code == 201
    job = answer.json()
    assert job["status"] == "SUBMITTED"
    assert job["id"] == job["jobId"]
    assert job["maximumExecutionTimeInSeconds"] == "7200"
    assert job["createdBy"] == "tenant-a"
    for field in ["modelId", "configurationId", "inputFolderId", "outputFolderId"]:
        assert job[field] == body[field]
    for field in ["environmentId", "message", "creationDate"]:
        assert field in job
    assert job["creationDate"].endswith("Z") and len(job["creationDate"]) == 24
    assert client.get(f"{JOBS}/{job['id']}", headers=tenant_a.headers).json()["id"] == job["id"]


@pytest.mark.parametrize(("sent", "shown"), [("60", "60"), (60, "60"), (None, "3600")])
def test_execution_time_as_string_or_number(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any], sent: Any, shown: str
) -> None:
    body["maximumExecutionTimeInSeconds"] = sent
    if sent is None:
        del body["maximumExecutionTimeInSeconds"]
    job = client.post(JOBS, headers=tenant_a.headers, json=body).json()
    assert job["maximumExecutionTimeInSeconds"] == shown


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maximumExecutionTimeInSeconds", "abc"),
        ("maximumExecutionTimeInSeconds", 0),
        ("maximumExecutionTimeInSeconds", -5),
        ("maximumExecutionTimeInSeconds", 3.5),
        ("maximumExecutionTimeInSeconds", True),
        ("maximumExecutionTimeInSeconds", 86401),
        ("modelId", 5),
        ("modelId", ""),
        ("parameters", [1, 2]),
        ("parameters", "x"),
        ("idempotencyToken", ""),
    ],
)
def test_bad_values_are_400_naming_the_field_and_nothing_is_stored(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any], field: str, value: Any
) -> None:
    body[field] = value
    error = assert_error(client.post(JOBS, headers=tenant_a.headers, json=body), 400)
    assert field in error["message"]
    assert job_count(client, tenant_a) == 0


@pytest.mark.parametrize("field", ["modelId", "configurationId", "inputFolderId", "outputFolderId"])
def test_missing_fields_are_400(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any], field: str
) -> None:
    del body[field]
    error = assert_error(client.post(JOBS, headers=tenant_a.headers, json=body), 400)
    assert field in error["message"]


def test_malformed_json_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    headers = {**tenant_a.headers, "Content-Type": "application/json"}
    assert_error(client.post(JOBS, headers=headers, content=b'{"modelId":'), 400)
    assert job_count(client, tenant_a) == 0


@pytest.mark.parametrize("field", ["modelId", "configurationId", "inputFolderId", "outputFolderId"])
def test_unknown_references_are_400_naming_the_field(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any], field: str
) -> None:
    body[field] = "00000000-0000-0000-0000-000000000000"
    error = assert_error(client.post(JOBS, headers=tenant_a.headers, json=body), 400)
    assert error["message"].startswith(field)


def test_a_payload_that_is_not_a_notebook_cannot_run(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    body["modelId"] = upload_model(client, tenant_a, b'{"empty": "model"}')
    error = assert_error(client.post(JOBS, headers=tenant_a.headers, json=body), 400)
    assert "modelId" in error["message"] and "Jupyter" in error["message"]


def test_another_tenants_resources_and_jobs_are_invisible(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient, body: dict[str, Any]
) -> None:
    job = client.post(JOBS, headers=tenant_a.headers, json=body).json()
    assert_error(client.get(f"{JOBS}/{job['id']}", headers=tenant_b.headers), 404)
    assert_error(client.post(f"{JOBS}/{job['id']}/stop", headers=tenant_b.headers), 404)
    assert job_count(client, tenant_b) == 0
    error = assert_error(client.post(JOBS, headers=tenant_b.headers, json=body), 400)
    assert error["message"].startswith("modelId")
    assert (
        client.get(f"{JOBS}/{job['id']}", headers=tenant_a.headers).json()["status"] == "SUBMITTED"
    )


def test_stop_of_a_waiting_job_is_immediate_and_final_jobs_are_unchanged(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    job = client.post(JOBS, headers=tenant_a.headers, json=body).json()
    headers = {**tenant_a.headers, "Content-Type": "application/json", "Content-Length": "0"}
    stopped = client.post(f"{JOBS}/{job['id']}/stop", headers=headers)
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "STOPPED"
    again = client.post(f"{JOBS}/{job['id']}/stop", headers=headers).json()
    assert again["status"] == "STOPPED" and again["message"] == stopped.json()["message"]
    assert again["endDate"] is not None


def test_parameters_over_64_kib_are_400_naming_the_limit(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    too_many = {"text": "x" * MAX_PARAMETERS_BYTES}
    answer = client.post(JOBS, headers=tenant_a.headers, json={**body, "parameters": too_many})
    message = assert_error(answer, 400)["message"]
    assert "parameters" in message and str(MAX_PARAMETERS_BYTES) in message
    assert job_count(client, tenant_a) == 0
    fitting = {"text": "x" * (MAX_PARAMETERS_BYTES - 20)}
    answer = client.post(JOBS, headers=tenant_a.headers, json={**body, "parameters": fitting})
    assert answer.status_code == 201, answer.text
    assert answer.json()["parameters"] == fitting


def test_list_envelopes_paging_and_filters(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    empty = client.get(JOBS, headers=tenant_a.headers).json()
    assert empty["jobs"] == [] and empty["page"]["totalPages"] == 0 and empty["totalPages"] == 0
    ids = [client.post(JOBS, headers=tenant_a.headers, json=body).json()["id"] for _ in range(3)]
    client.post(f"{JOBS}/{ids[0]}/stop", headers=tenant_a.headers)
    page = client.get(f"{JOBS}?pageNumber=0&pageSize=2", headers=tenant_a.headers).json()
    assert [j["id"] for j in page["jobs"]] == [ids[2], ids[1]]
    assert page["content"] == page["jobs"]
    assert page["page"] == {"number": 0, "size": 2, "totalPages": 2, "totalElements": 3}
    assert page["first"] is True and page["last"] is False and page["numberOfElements"] == 2
    beyond = client.get(f"{JOBS}?pageNumber=2&pageSize=2", headers=tenant_a.headers).json()
    assert beyond["jobs"] == [] and beyond["page"]["totalElements"] == 3
    flt = '{"status":{"or":[{"eq":"STOPPED"},{"eq":"FAILED"}]},"message":{"contains":"Stopped"}}'
    stopped = client.get(JOBS, headers=tenant_a.headers, params={"filter": flt}).json()
    assert [j["id"] for j in stopped["jobs"]] == [ids[0]]
    headers = {**tenant_a.headers, "Content-Type": "application/json", "Accept": "*/*"}
    assert client.get(JOBS, headers=headers).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"filter": "{not json"},
        {"filter": '{"colour": "red"}'},
        {"filter": '{"status": {"eq": "DANCING"}}'},
        {"filter": '{"creationDate": {"after": "yesterday"}}'},
        {"pageSize": "101"},
        {"pageSize": "0"},
        {"pageNumber": "-1"},
        {"pageNumber": "x"},
    ],
)
def test_bad_list_queries_are_400(
    client: TestClient, tenant_a: TenantClient, query: dict[str, str]
) -> None:
    assert_error(client.get(JOBS, headers=tenant_a.headers, params=query), 400)


class BrokenDispatcher(Dispatcher):
    """A broker that is down: every dispatch raises."""

    def dispatch(self, job_id: str) -> None:
        raise ConnectionError("the broker is down")


def test_a_failed_dispatch_leaves_the_stored_job_waiting_for_the_sweep(
    client: TestClient,
    services: Services,
    tenant_a: TenantClient,
    body: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.app.state.dispatcher = BrokenDispatcher()  # type: ignore[attr-defined]
    answer = client.post(JOBS, headers=tenant_a.headers, json=body)
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["status"] == "SUBMITTED"
    # Sent again by the next sweep, without waiting out the re-dispatch time.
    an_hour_ago = utcnow() - timedelta(hours=1)
    assert services.store.sends.resend(an_hour_ago, queued=0) == [job["id"]]
    assert f"job {job['id']} is stored but dispatching it failed" in caplog.text


def test_unknown_job_is_404(client: TestClient, tenant_a: TenantClient) -> None:
    assert_error(client.get(f"{JOBS}/nope", headers=tenant_a.headers), 404)
    assert_error(client.post(f"{JOBS}/nope/stop", headers=tenant_a.headers), 404)
