"""Webhook secrets are stored sealed with the key beside the signing keys: the database
alone gives none away (a service with another key cannot sign a delivery), secrets stored
in clear before are sealed, and `jobmanager admin rotate-webhook-key` seals them all with
a new key while deliveries stay signed with the same secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobmanager.auth.sealing import KEY_FILE, SEALED
from jobmanager.common.home import keys_folder
from jobmanager.domain.destinations import LOOPBACK_NETWORKS
from jobmanager.service.notifier import UNREADABLE_SECRET, Notifier
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient
from tests.integration.webhooks.api import create_webhook, deliveries, signed, stopped_job
from tests.webhook_receiver import Receiver

SECRET = "a-secret-only-the-receiver-knows"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    settings.webhook_allowed_networks = list(LOOPBACK_NETWORKS)
    return settings


def stored_secrets(settings: Settings) -> dict[str, str]:
    """What the database holds in the secret column, by webhook id."""
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, secret FROM webhooks")).all()
    finally:
        engine.dispose()
    return {str(row[0]): str(row[1]) for row in rows}


def deliver_one_stop(client: TestClient, tenant: TenantClient, notifier: Notifier) -> None:
    notifier.run_once()
    stopped_job(client, tenant)
    notifier.run_once()
    notifier.stop()


def test_the_database_alone_does_not_give_a_secret_away(
    client: TestClient,
    tenant_a: TenantClient,
    settings: Settings,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"], secret=SECRET)
    (stored,) = stored_secrets(settings).values()
    assert stored.startswith(SEALED) and SECRET not in stored
    # The same database, another home: another key.
    elsewhere = settings.model_copy(update={"home": tmp_path / "elsewhere"})
    thief = Services.open(elsewhere, migrate=False)
    try:
        deliver_one_stop(client, tenant_a, Notifier(thief.store, elsewhere.webhook_destinations))
    finally:
        thief.close()
    (delivery,) = deliveries(client, tenant_a, hook["id"])
    assert (delivery["status"], delivery["lastError"]) == ("pending", UNREADABLE_SECRET)
    assert receiver.received == []


def test_secrets_stored_in_clear_are_sealed_and_still_sign(
    client: TestClient,
    tenant_a: TenantClient,
    settings: Settings,
    services: Services,
    receiver: Receiver,
) -> None:
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"], secret=SECRET)
    engine = sa.create_engine(settings.resolved_database_url)
    with engine.begin() as connection:  # as a version before sealing left it
        connection.execute(sa.text("UPDATE webhooks SET secret = :s"), {"s": SECRET})
    engine.dispose()
    assert services.store.webhooks.seal_plain_secrets() == 1
    assert services.store.webhooks.seal_plain_secrets() == 0
    assert stored_secrets(settings)[hook["id"]].startswith(SEALED)
    deliver_one_stop(client, tenant_a, Notifier(services.store, settings.webhook_destinations))
    (request,) = receiver.wait_for(1)
    assert signed(request, SECRET)


def rotate(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JOBMANAGER_HOME": str(settings.home),
        "JOBMANAGER_DATABASE_URL": settings.resolved_database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "jobmanager", "admin", "rotate-webhook-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rotating_the_key_reseals_every_secret_and_deliveries_stay_signed(
    client: TestClient,
    tenant_a: TenantClient,
    settings: Settings,
    services: Services,
    receiver: Receiver,
) -> None:
    for _ in range(2):
        create_webhook(client, tenant_a, url=receiver.url, events=["stopped"], secret=SECRET)
    before = stored_secrets(settings)
    key_file = keys_folder(settings.home) / KEY_FILE
    first_key = key_file.read_bytes()
    done = rotate(settings)
    assert done.returncode == 0, done.stderr
    assert f"sealed 2 webhook secrets with a new key in {key_file}" in done.stdout
    after = stored_secrets(settings)
    assert set(after) == set(before)
    assert all(after[i] != before[i] and after[i].startswith(SEALED) for i in before)
    assert key_file.read_bytes().endswith(first_key)  # the key before is kept
    # The running service read the new key file when it met a secret its keys do not open.
    deliver_one_stop(client, tenant_a, Notifier(services.store, settings.webhook_destinations))
    requests = receiver.wait_for(2)
    assert all(signed(request, SECRET) for request in requests)
    assert rotate(settings).returncode == 0
    assert first_key not in key_file.read_bytes()  # two rotations on: gone
