"""`JOBMANAGER_METRICS_TOKEN`: `/metrics` answers only a scraper that sends it, and shows
the jobs by tenant and configuration only then; without a token (loopback only) its
figures name no tenant and none of a tenant's resources."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.web.app import create_app
from tests.conftest import make_tenant
from tests.integration.jobs.api import JOBS, runnable_references


def test_metrics_want_the_token_when_one_is_set(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    assert guarded.masked()["metrics_token"] == "********"
    services = Services.open(guarded, migrate=False)
    try:
        with TestClient(create_app(guarded, services)) as client:
            refused = client.get("/metrics")
            wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-you"})
            answered = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    finally:
        services.close()
    assert refused.status_code == wrong.status_code == 401
    assert refused.json()["errors"][0]["code"] == "jobmanager.unauthorized"
    assert answered.status_code == 200
    assert "jobmanager_http_requests_total" in answered.text


def test_without_a_token_metrics_are_open(client: TestClient) -> None:
    answer = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 200


def scraped_with_a_job(settings: Settings, metrics_token: str | None) -> str:
    """The metrics of a service holding one waiting job of tenant-a."""
    update = {"job_slots": 0, "metrics_token": SecretStr(metrics_token) if metrics_token else None}
    chosen = settings.model_copy(update=update)
    services = Services.open(chosen, migrate=False)
    try:
        with TestClient(create_app(chosen, services)) as client:
            tenant = make_tenant(services, client, "tenant-a")
            references = runnable_references(client, tenant)
            assert client.post(JOBS, headers=tenant.headers, json=references).status_code == 201
            headers = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
            answer = client.get("/metrics", headers=headers)
    finally:
        services.close()
    assert answer.status_code == 200
    return str(answer.text).replace(references["configurationId"], "CONFIGURATION")


def test_without_a_token_metrics_name_no_tenant(settings: Settings) -> None:
    text = scraped_with_a_job(settings, None)
    assert 'jobmanager_jobs{status="SUBMITTED"} 1.0' in text
    assert "jobmanager_queue_depth 1.0" in text
    assert "tenant-a" not in text and "CONFIGURATION" not in text
    assert "tenant=" not in text and "configuration=" not in text


def test_with_the_token_metrics_are_by_tenant_and_configuration(settings: Settings) -> None:
    text = scraped_with_a_job(settings, "scrape-me")
    assert 'jobmanager_jobs{status="SUBMITTED",tenant="tenant-a"} 1.0' in text
    assert 'jobmanager_queue_depth{configuration="CONFIGURATION"} 1.0' in text
