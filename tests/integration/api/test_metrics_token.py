"""`JOBMANAGER_METRICS_TOKEN`: `/metrics` answers only a scraper that sends it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr

from jobmanager.api.app import create_app
from jobmanager.services import Services
from jobmanager.settings import Settings


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
