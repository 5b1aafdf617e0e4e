"""A console over an API-only service (no job slots: jobs stay where the test puts
them), and a browser-like client signed in through the sign-in form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.web.app import create_app
from tests.conftest import TenantClient, make_tenant

XSRF = "XSRF-TOKEN"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """An API-only service: no job slots claim the jobs the tests make."""
    return settings.model_copy(update={"job_slots": 0, "warm_environments": 0})


@pytest.fixture
def idle_client(settings: Settings, services: Services) -> Iterator[TestClient]:
    app = create_app(settings, services)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, tenant: TenantClient) -> str:
    """Sign in with the form as a browser does; the XSRF token the pages carry."""
    client.cookies.clear()
    assert client.get("/signin").status_code == 200
    token = client.cookies[XSRF]
    answer = client.post(
        "/signin",
        data={
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "xsrf_token": token,
            "next": "/jobs",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/jobs"
    return str(client.cookies[XSRF])


@pytest.fixture
def tenant(services: Services, idle_client: TestClient) -> TenantClient:
    return make_tenant(services, idle_client, "console-a")
