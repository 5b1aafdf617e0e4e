"""Every answer of the console — each page and fragment the app serves (found from its
routes, with real ids of the tenant's resources), its forms refused without their token,
its static files, its errors and redirects — and of the API carries the headers that
keep a page from being framed, sniffed or leaking where the user was."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from jobmanager.api.security_headers import SECURITY_HEADERS
from jobmanager.console.routing import ConsoleRoute
from tests.conftest import TenantClient
from tests.integration.console.conftest import sign_in
from tests.integration.jobs.api import runnable_references, upload_file

MODELS = "/api/modelmanagement/v3/models"
JOBS = "/api/jobmanager/v3/jobs"
SCHEDULES = "/api/jobmanager/v3/schedules"
EXPECTED = {
    "content-security-policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
UNKNOWN = "no-such-id"  # a parameter no resource here fills: its error page is checked


@pytest.fixture
def backend() -> str:
    return "sqlite"  # headers are the app's, whatever the database


def guarded(headers: httpx.Headers, where: str) -> None:
    found = {name: headers.get(name) for name in EXPECTED}
    assert found == EXPECTED, where


def test_the_expected_headers_are_the_services() -> None:
    assert {name.lower(): value for name, value in SECURITY_HEADERS.items()} == EXPECTED


def resources(client: TestClient, tenant: TenantClient) -> dict[str, str]:
    """A value for each path parameter of the console's routes: the tenant's own things."""
    references = runnable_references(client, tenant)
    job = client.post(JOBS, headers=tenant.headers, json=references).json()["id"]
    client.post(f"{JOBS}/{job}/stop", headers=tenant.headers)  # final: its live stream ends
    model = client.get(f"{MODELS}/{references['modelId']}", headers=tenant.headers).json()
    output = references["outputFolderId"]
    file_id = upload_file(client, tenant, output, "result.csv", b"a,b\n1,2\n")
    schedule = client.post(
        SCHEDULES,
        headers=tenant.headers,
        json={
            **{k: references[k] for k in ("modelId", "configurationId")},
            "name": "nightly",
            "inputFolderId": references["inputFolderId"],
            "outputFolderId": output,
            "maximumExecutionTime": 60,
            "scheduleString": "0 3 * * *",
        },
    ).json()["id"]
    return {
        "job_id": job,
        "file_id": file_id,
        "model_id": references["modelId"],
        "version_id": model["lastVersion"]["id"],
        "folder_id": output,
        "entry_id": file_id,
        "configuration_id": references["configurationId"],
        "schedule_id": schedule,
    }


def console_routes(client: TestClient) -> list[APIRoute]:
    app = client.app
    return [
        context.route
        for context in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        if isinstance(context.route, ConsoleRoute)
    ]


def filled(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), UNKNOWN), path)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_every_console_answer_carries_the_headers(
    idle_client: TestClient, tenant: TenantClient, htmx: bool
) -> None:
    values = resources(idle_client, tenant)
    sign_in(idle_client, tenant)
    headers = {"HX-Request": "true"} if htmx else {}
    routes = console_routes(idle_client)
    assert len(routes) > 20
    statuses = {}
    for route in routes:
        path = filled(route.path, values)
        for method in sorted(route.methods or ()):
            if method == "GET":
                answer = idle_client.get(path, headers=headers)
            else:  # no XSRF token: refused, as a page in words, and nothing changes
                answer = idle_client.request(method, path, headers=headers)
            guarded(answer.headers, f"{method} {path}")
            statuses[f"{method} {path}"] = answer.status_code
    assert statuses[f"GET /jobs/{values['job_id']}"] == 200
    assert statuses[f"GET /models/{values['model_id']}"] == 200
    assert statuses[f"POST /jobs/{values['job_id']}/stop"] == 403


def test_static_files_errors_redirects_and_the_api_carry_them(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    for path in ("/static/htmx.min.js", "/static/console.css", "/signin", "/no-such-page"):
        guarded(idle_client.get(path).headers, path)
    guarded(idle_client.get("/jobs").headers, "a redirect to the sign-in page")
    guarded(idle_client.get(JOBS, headers=tenant.headers).headers, "the API")
    guarded(idle_client.get(JOBS).headers, "the API's 401")
    guarded(idle_client.get("/docs").headers, "the API's documentation")
