"""Environment configurations and environments through HTTP (SPEC §4), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from jobmanager.store.tables import EnvironmentSlot, Job
from tests.conftest import TenantClient, assert_error, basic

BASE = "/api/prl/v3"
CONFIGURATIONS = f"{BASE}/configurations"

FULL = {
    "name": "Pandas 2",
    "description": "with pandas",
    "runtime": "python3.11",
    "packages": ["Pandas>=2", "requests[socks]==2.32.3"],
    "resources": {"cpus": 1.5, "memoryMiB": 2048, "maxProcesses": 400, "diskMiB": 10240},
    "maxEnvironments": 3,
    "whenBusy": "fail",
    "network": "none",
    "environmentVariables": {"MODE": "test", "_x1": ""},
}


def create(client: TestClient, tenant: TenantClient, **body: Any) -> dict[str, Any]:
    answer = client.post(CONFIGURATIONS, json={"name": "c", **body}, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_create_with_defaults(client: TestClient, tenant_a: TenantClient) -> None:
    made = create(client, tenant_a, name="basic")
    assert made["id"]
    assert made["name"] == "basic"
    assert made["description"] == ""
    assert made["runtime"] == "python3"
    assert made["packages"] == []
    # Unset limits are the service's defaults (JOBMANAGER_DEFAULT_*), applied when a job runs.
    assert made["resources"] == {
        "cpus": None,
        "memoryMiB": None,
        "maxProcesses": None,
        "diskMiB": None,
    }
    assert made["maxEnvironments"] == 1
    assert made["whenBusy"] == "queue"
    # No network unless asked for: a job reaches its own loopback only.
    assert made["network"] == "none"
    assert made["networkAllow"] == []
    assert made["egress"] == {"allowed": [], "blocked": ["0.0.0.0/0", "::/0"]}
    assert made["environmentVariables"] == {}
    assert made["creationDate"].endswith("Z")
    assert len(made["creationDate"]) == 24


def test_create_every_field_and_read_it_back(client: TestClient, tenant_a: TenantClient) -> None:
    made = create(client, tenant_a, **FULL)
    read = client.get(f"{CONFIGURATIONS}/{made['id']}", headers=tenant_a.headers)
    assert read.status_code == 200
    assert read.json() == made
    assert made["packages"] == ["pandas>=2", "requests[socks]==2.32.3"]
    for key in ("runtime", "resources", "maxEnvironments", "whenBusy", "network"):
        assert made[key] == FULL[key]
    assert made["environmentVariables"] == FULL["environmentVariables"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": 5}, "name"),
        ({"runtime": "python2"}, "runtime"),
        ({"runtime": "python3.x"}, "runtime"),
        ({"runtime": "python3.7"}, "runtime"),
        ({"runtime": "python3; rm -rf /"}, "runtime"),
        ({"packages": ["-e ."]}, "packages"),
        ({"packages": ["https://evil.example/x.whl"]}, "packages"),
        ({"packages": ["pkg @ file:///tmp/x"]}, "packages"),
        ({"packages": ["numpy", "NumPy<2"]}, "packages"),
        ({"packages": ["not a requirement!"]}, "packages"),
        ({"packages": "pandas"}, "packages"),
        ({"packages": [3]}, "packages"),
        ({"resources": {"cpus": 0.05}}, "cpus"),
        ({"resources": {"cpus": 65}}, "cpus"),
        ({"resources": {"cpus": "2"}}, "cpus"),
        ({"resources": {"memoryMiB": 127}}, "memoryMiB"),
        ({"resources": {"memoryMiB": 262145}}, "memoryMiB"),
        ({"resources": {"memoryMiB": 512.5}}, "memoryMiB"),
        ({"resources": {"disk": 1}}, "disk"),
        ({"resources": {"maxProcesses": 15}}, "maxProcesses"),
        ({"resources": {"maxProcesses": "400"}}, "maxProcesses"),
        ({"resources": {"diskMiB": 0}}, "diskMiB"),
        ({"maxEnvironments": 0}, "maxEnvironments"),
        ({"maxEnvironments": 65}, "maxEnvironments"),
        ({"maxEnvironments": "2"}, "maxEnvironments"),
        ({"maxEnvironments": True}, "maxEnvironments"),
        ({"whenBusy": "wait"}, "whenBusy"),
        ({"network": "off"}, "network"),
        ({"environmentVariables": {"1ABC": "x"}}, "environmentVariables"),
        ({"environmentVariables": {"A-B": "x"}}, "environmentVariables"),
        ({"environmentVariables": {"": "x"}}, "environmentVariables"),
        ({"environmentVariables": {"A": 1}}, "environmentVariables"),
        ({"environmentVariables": {"A": "x\x00y"}}, "environmentVariables"),
        ({"environmentVariables": {"outputFolder": "/etc"}}, "environmentVariables"),
        ({"environmentVariables": {"JOBMANAGER_HOME": "/"}}, "environmentVariables"),
        ({"environmentVariables": ["A=1"]}, "environmentVariables"),
        ({"description": "x" * 4001}, "description"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_configuration_is_400_naming_the_field_and_stores_nothing(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any], field: str
) -> None:
    payload = {"name": "c", **body} if "name" not in body and body else body
    answer = client.post(CONFIGURATIONS, json=payload, headers=tenant_a.headers)
    error = assert_error(answer, 400)
    assert field in error["message"]
    listed = client.get(CONFIGURATIONS, headers=tenant_a.headers).json()
    assert listed["configurations"] == []


def test_body_that_is_not_json_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    headers = {**tenant_a.headers, "Content-Type": "application/json"}
    assert_error(client.post(CONFIGURATIONS, content=b"{name:", headers=headers), 400)
    assert_error(client.post(CONFIGURATIONS, content=b"[1]", headers=headers), 400)


def test_patch_changes_only_what_is_sent(client: TestClient, tenant_a: TenantClient) -> None:
    made = create(client, tenant_a, **FULL)
    url = f"{CONFIGURATIONS}/{made['id']}"
    answer = client.patch(
        url, json={"description": "new", "maxEnvironments": 5}, headers=tenant_a.headers
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["description"] == "new"
    assert changed["maxEnvironments"] == 5
    for key in ("name", "runtime", "packages", "resources", "whenBusy", "network"):
        assert changed[key] == made[key]
    assert changed["creationDate"] == made["creationDate"]
    assert changed["modifiedDate"] >= made["modifiedDate"]
    assert client.get(url, headers=tenant_a.headers).json() == changed


def test_patch_resources_replaces_every_limit(client: TestClient, tenant_a: TenantClient) -> None:
    made = create(client, tenant_a, **FULL)
    url = f"{CONFIGURATIONS}/{made['id']}"
    changed = client.patch(url, json={"resources": {"cpus": 2}}, headers=tenant_a.headers).json()
    assert changed["resources"] == {
        "cpus": 2.0,
        "memoryMiB": None,
        "maxProcesses": None,
        "diskMiB": None,
    }
    changed = client.patch(url, json={"packages": []}, headers=tenant_a.headers).json()
    assert changed["packages"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"name": ""},
        {"maxEnvironments": 0},
        {"whenBusy": None},
        {"packages": ["--index-url=http://x"]},
        {"resources": {"cpus": 100}},
        {"id": "other"},
    ],
)
def test_bad_patch_is_400_and_changes_nothing(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    made = create(client, tenant_a, **FULL)
    url = f"{CONFIGURATIONS}/{made['id']}"
    assert_error(client.patch(url, json=body, headers=tenant_a.headers), 400)
    assert client.get(url, headers=tenant_a.headers).json() == made


def test_delete_then_gone(client: TestClient, tenant_a: TenantClient) -> None:
    made = create(client, tenant_a)
    url = f"{CONFIGURATIONS}/{made['id']}"
    answer = client.delete(url, headers=tenant_a.headers)
    assert answer.status_code == 204
    assert_error(client.get(url, headers=tenant_a.headers), 404)
    assert_error(client.delete(url, headers=tenant_a.headers), 404)
    assert_error(client.patch(url, json={"name": "x"}, headers=tenant_a.headers), 404)


def test_delete_refused_while_a_job_uses_it(
    client: TestClient, services: Services, tenant_a: TenantClient
) -> None:
    made = create(client, tenant_a)
    job_id = _insert_job(services, "tenant-a", made["id"], "RUNNING")
    url = f"{CONFIGURATIONS}/{made['id']}"
    error = assert_error(client.delete(url, headers=tenant_a.headers), 409)
    assert job_id in error["message"]
    assert client.get(url, headers=tenant_a.headers).status_code == 200
    _set_job_status(services, job_id, "SUCCEEDED")
    assert client.delete(url, headers=tenant_a.headers).status_code == 204


def test_other_tenant_sees_404_everywhere(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    made = create(client, tenant_a)
    url = f"{CONFIGURATIONS}/{made['id']}"
    assert_error(client.get(url, headers=tenant_b.headers), 404)
    assert_error(client.patch(url, json={"name": "x"}, headers=tenant_b.headers), 404)
    assert_error(client.delete(url, headers=tenant_b.headers), 404)
    assert client.get(CONFIGURATIONS, headers=tenant_b.headers).json()["configurations"] == []
    assert client.get(url, headers=tenant_a.headers).json()["name"] == "c"


def test_list_pages_and_envelope(client: TestClient, tenant_a: TenantClient) -> None:
    ids = [create(client, tenant_a, name=f"c{i}")["id"] for i in range(5)]
    first = client.get(CONFIGURATIONS, params={"pageSize": 2}, headers=tenant_a.headers).json()
    assert first["page"] == {"number": 0, "size": 2, "totalPages": 3, "totalElements": 5}
    assert first["content"] == first["configurations"]
    assert (first["first"], first["last"], first["numberOfElements"]) == (True, False, 2)
    seen = []
    for number in range(4):  # the official client asks for pages 0..totalPages inclusive
        page = client.get(
            CONFIGURATIONS,
            params={"pageSize": 2, "pageNumber": number},
            headers=tenant_a.headers,
        ).json()
        seen += [item["id"] for item in page["configurations"]]
    assert seen == ids
    last = client.get(
        CONFIGURATIONS, params={"pageSize": 2, "pageNumber": 2}, headers=tenant_a.headers
    ).json()
    assert last["last"] is True
    assert last["numberOfElements"] == 1


def test_empty_list_has_zero_pages(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.get(
        CONFIGURATIONS, headers={**tenant_a.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.json()["page"] == {"number": 0, "size": 100, "totalPages": 0, "totalElements": 0}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"pageNumber": "-1"}, "pageNumber"),
        ({"pageNumber": "x"}, "pageNumber"),
        ({"pageNumber": "1.5"}, "pageNumber"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "101"}, "pageSize"),
        ({"pageSize": "ten"}, "pageSize"),
    ],
)
def test_bad_paging_is_400(
    client: TestClient, tenant_a: TenantClient, params: dict[str, str], name: str
) -> None:
    error = assert_error(client.get(CONFIGURATIONS, params=params, headers=tenant_a.headers), 400)
    assert name in error["message"]


def test_needs_authentication(client: TestClient) -> None:
    assert_error(client.get(CONFIGURATIONS), 401)
    assert_error(client.post(CONFIGURATIONS, json={"name": "c"}), 401)
    assert_error(client.get(f"{BASE}/environments"), 401)


def test_session_cookie_needs_matching_xsrf_header(
    client: TestClient, tenant_a: TenantClient
) -> None:
    opened = client.post(
        "/session", headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)}
    )
    assert opened.status_code == 204
    xsrf = client.cookies["XSRF-TOKEN"]
    assert_error(client.post(CONFIGURATIONS, json={"name": "c"}), 403)
    assert_error(
        client.post(CONFIGURATIONS, json={"name": "c"}, headers={"X-XSRF-TOKEN": "wrong"}), 403
    )
    assert client.get(CONFIGURATIONS).json()["configurations"] == []  # a GET needs no header
    made = client.post(CONFIGURATIONS, json={"name": "c"}, headers={"X-XSRF-TOKEN": xsrf})
    assert made.status_code == 201
    url = f"{CONFIGURATIONS}/{made.json()['id']}"
    assert_error(client.delete(url), 403)
    assert client.delete(url, headers={"X-XSRF-TOKEN": xsrf}).status_code == 204


def test_environments_list_what_exists(
    client: TestClient, services: Services, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    empty = client.get(f"{BASE}/environments", headers=tenant_a.headers).json()
    assert empty["environments"] == []
    assert empty["page"]["totalPages"] == 0
    made = create(client, tenant_a)
    job_id = _insert_job(services, "tenant-a", made["id"], "RUNNING")
    environment_id = _insert_slot(services, "tenant-a", made["id"], job_id)
    listed = client.get(f"{BASE}/environments", headers=tenant_a.headers).json()
    (environment,) = listed["environments"]
    assert environment["id"] == environment_id
    assert environment["configurationId"] == made["id"]
    assert environment["jobId"] == job_id
    assert environment["status"] == "RUNNING"
    one = client.get(f"{BASE}/environments/{environment_id}", headers=tenant_a.headers)
    assert one.json() == environment
    assert_error(client.get(f"{BASE}/environments/{environment_id}", headers=tenant_b.headers), 404)
    assert client.get(f"{BASE}/environments", headers=tenant_b.headers).json()["environments"] == []
    assert_error(client.get(f"{BASE}/environments/nope", headers=tenant_a.headers), 404)


def _tenant_id(services: Services, name: str) -> str:
    return services.store.tenants.get_by_name(name).id


def _insert_job(services: Services, tenant: str, configuration_id: str, status: str) -> str:
    """A job row as the jobs engine would hold it; only what this test reads matters."""
    with services.db.transaction() as session:
        job = Job(
            tenant_id=_tenant_id(services, tenant),
            created_by=tenant,
            model_id="m",
            model_version_id="v",
            configuration_id=configuration_id,
            input_folder_id="_PUBLIC_ROOT_ID",
            output_folder_id="_PUBLIC_ROOT_ID",
            max_execution_seconds=60,
            status=status,
        )
        session.add(job)
        session.flush()
        return job.id


def _set_job_status(services: Services, job_id: str, status: str) -> None:
    with services.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status = status


def _insert_slot(services: Services, tenant: str, configuration_id: str, job_id: str) -> str:
    environment_id = f"urn:uuid:{job_id}"
    with services.db.transaction() as session:
        session.add(
            EnvironmentSlot(
                id=environment_id,
                tenant_id=_tenant_id(services, tenant),
                configuration_id=configuration_id,
                slot=0,
                job_id=job_id,
                status="RUNNING",
                worker_id="w1",
            )
        )
    return environment_id
