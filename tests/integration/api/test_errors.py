"""Every error, whatever its cause, is in the SPEC's format with a 4xx status."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantClient, assert_error


def test_unknown_route_is_404_in_error_format(client: TestClient, tenant_a: TenantClient) -> None:
    error = assert_error(client.get("/api/nothing/here", headers=tenant_a.headers), 404)
    assert "/api/nothing/here" in error["message"]


def test_wrong_method_is_405_in_error_format(client: TestClient) -> None:
    assert_error(client.delete("/token_keys"), 405)


def test_malformed_json_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    answer = client.post(
        "/api/technicaltokenmanager/v3/oauth/token",
        content=b'{"appName": ',
        headers={"Content-Type": "application/json", "X-SPACE-AUTH-KEY": "Basic eDp5"},
    )
    error = assert_error(answer, 400)
    assert "JSON" in error["message"]


def test_wrong_type_names_the_field(client: TestClient) -> None:
    answer = client.post(
        "/api/technicaltokenmanager/v3/oauth/token",
        json={"appName": 5},
        headers={"X-SPACE-AUTH-KEY": "Basic eDp5"},
    )
    error = assert_error(answer, 400)
    assert "appName" in error["message"]


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "UP"
    spec = client.get("/openapi.json").json()
    assert "/oauth/token" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_a_405_names_every_method_the_path_serves(
    client: TestClient, tenant_a: TenantClient
) -> None:
    """A path served by several routes (one per method) lists all of them in `Allow`."""
    answer = client.request(
        "OPTIONS", "/api/dataexchange/v3/files/some-id", headers=tenant_a.headers
    )
    assert_error(answer, 405)
    assert answer.headers["Allow"] == "DELETE, GET, PUT"


def test_the_openapi_document_says_what_the_service_answers(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert all("422" not in op["responses"] for op in operations)  # validation answers 400
    jobs = document["paths"]["/api/jobmanager/v3/jobs"]["get"]
    assert {"200", "400", "401", "403"} <= set(jobs["responses"])
    error = jobs["responses"]["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorAnswer"}
    (flt,) = [p for p in jobs["parameters"] if p["name"] == "filter"]
    ref = flt["content"]["application/json"]["schema"]["$ref"]
    fields = document["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {
        "modelId",
        "message",
        "status",
        "creationDate",
        "rerunOf",
        "repairOf",
        "scheduleId",
    }
    for action in ("rerun", "repair"):
        operation = document["paths"][f"/api/jobmanager/v3/jobs/{{job_id}}/{action}"]["post"]
        assert {"201", "404", "409"} <= set(operation["responses"])
        assert operation["x-extension"] is True
    upload = document["paths"]["/api/modelmanagement/v3/models"]["post"]["requestBody"]
    assert set(upload["content"]["multipart/form-data"]["schema"]["required"]) == {
        "file",
        "metadata",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobmanager/v3/jobs/a%00b",
        "/api/jobmanager/v3/jobs/a%00b/outputs",
        "/api/prl/v3/configurations/a%00b",
        "/api/modelmanagement/v3/models/a%00b",
        "/api/dataexchange/v3/files/a%00b",
        "/api/jobmanager/v3/schedules/a%00b",
    ],
)
def test_a_nul_character_in_an_id_is_a_clear_4xx_on_every_backend(
    client: TestClient, tenant_a: TenantClient, path: str
) -> None:
    """PostgreSQL refuses NUL in text before the query runs; SQLite finds nothing."""
    answer = client.get(path, headers=tenant_a.headers)
    assert answer.status_code in (400, 404), answer.text
    error = answer.json()["errors"][0]
    assert error["code"] in ("jobmanager.badRequest", "jobmanager.notFound"), error
    if answer.status_code == 400:
        assert "NUL character" in error["message"]
