"""Every error, whatever its cause, is in the SPEC's format with a 4xx status."""

from __future__ import annotations

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
