"""What the webhook tests do through the API: make a webhook, read its deliveries, end a
job at once, check a delivery's signature as a receiver does."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantClient
from tests.integration.jobs.api import JOBS, runnable_references

WEBHOOKS = "/api/jobmanager/v3/webhooks"


def create_webhook(client: TestClient, tenant: TenantClient, **body: Any) -> dict[str, Any]:
    answer = client.post(WEBHOOKS, headers=tenant.headers, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def deliveries(client: TestClient, tenant: TenantClient, webhook_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["deliveries"]))  # oldest first


def stopped_job(client: TestClient, tenant: TenantClient) -> None:
    """A job that ends STOPPED at once: the `stopped` event, with no kernel to run."""
    answer = client.post(JOBS, headers=tenant.headers, json=runnable_references(client, tenant))
    assert answer.status_code in (200, 201), answer.text
    stop = client.post(f"{JOBS}/{answer.json()['id']}/stop", headers=tenant.headers)
    assert stop.status_code == 200, stop.text


def signed(request: dict[str, Any], secret: str) -> bool:
    """The receiver's check, written from the docs: HMAC-SHA256 of `timestamp.body`."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    message = headers["x-jobmanager-timestamp"].encode() + b"." + request["body"].encode()
    expected = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-jobmanager-signature"])
