"""A job's status change wakes the webhook outbox: with the safety poll an hour long, a
delivery arrives all the same — on SQLite from the process that wrote, on PostgreSQL
in another replica too (the one sending webhooks is not the one the job's stop went to).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.acceptance.api import note
from tests.acceptance.server import ServerProcess
from tests.acceptance.test_schedules_replicas import (  # noqa: F401 - fixtures
    cluster_database,
    short_tmp,
    token,
)
from tests.webhook_receiver import Receiver

JM = "/api/jobmanager/v3"
AN_HOUR = "3600"  # no round of the outbox's safety poll comes within a test
QUIET = {
    "JOBMANAGER_SAFETY_POLL_SECONDS": AN_HOUR,
    "JOBMANAGER_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receiver is local
    "JOBMANAGER_JOB_SLOTS": "0",  # jobs wait: a stop ends them at once
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def stopped_job(http: httpx.Client) -> str:
    """A job that waits, stopped: its `stopped` status is the event to deliver."""
    model = http.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": ("n.zpln", note("print('never runs')"), "application/json"),
            "metadata": (None, json.dumps({"name": "n", "type": "zeppelin", "lastVersion": {}})),
        },
    ).json()
    configuration = http.post("/api/prl/v3/configurations", json={"name": "c"}).json()
    folders = [
        http.post(
            "/api/dataexchange/v3/directories", json={"name": name, "parentId": "_PUBLIC_ROOT_ID"}
        ).json()["id"]
        for name in ("in", "out")
    ]
    body: dict[str, Any] = {
        "modelId": model["id"],
        "configurationId": configuration["id"],
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
    }
    job_id = str(http.post(f"{JM}/jobs", json=body).json()["id"])
    assert http.post(f"{JM}/jobs/{job_id}/stop").json()["status"] == "STOPPED"
    return job_id


def delivered_job(receiver: Receiver) -> str:
    """The job of the first delivery (waiting for it far less than the safety poll)."""
    (request,) = receiver.wait_for(1, timeout=60)
    delivery = json.loads(request["body"])
    assert delivery["event"] == "stopped"
    return str(delivery["job"]["id"])


def test_a_stop_is_delivered_without_waiting_for_the_poll_on_sqlite(
    short_tmp: Path,  # noqa: F811
    receiver: Receiver,
) -> None:
    server = ServerProcess(short_tmp / "home", extra_env=QUIET).start()
    try:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            made = http.post(f"{JM}/webhooks", json={"url": receiver.url, "events": ["stopped"]})
            assert made.status_code == 201, made.text
            job_id = stopped_job(http)
        assert delivered_job(receiver) == job_id
    finally:
        server.stop()


def test_a_replica_sends_the_webhook_of_a_job_stopped_on_another_on_postgres(
    short_tmp: Path,  # noqa: F811
    cluster_database: str,  # noqa: F811
    receiver: Receiver,
) -> None:
    admin = short_tmp / "admin"
    services = Services.open(Settings(home=admin, database_url=cluster_database))
    services.store.tenants.create("acme")
    credentials = services.store.tenants.create_credentials("acme")
    services.close()
    shared = {**QUIET, "JOBMANAGER_DATABASE_URL": cluster_database}
    shared["JOBMANAGER_BLOB_URL"] = str(short_tmp / "blobs")
    servers = []
    for name, sends in (("sender", "true"), ("api", "false")):
        home = short_tmp / name / "home"
        shutil.copytree(admin / "keys", home / "keys")  # one key opens webhook secrets
        env = {**shared, "JOBMANAGER_NOTIFICATIONS_ENABLED": sends}
        servers.append(ServerProcess(home, extra_env=env))
    try:
        for server in servers:
            server.start()
        api = servers[1]
        headers = token(api, credentials.client_id, credentials.client_secret)
        with httpx.Client(base_url=api.url, headers=headers, timeout=30) as http:
            made = http.post(f"{JM}/webhooks", json={"url": receiver.url, "events": ["stopped"]})
            assert made.status_code == 201, made.text
            job_id = stopped_job(http)
        assert delivered_job(receiver) == job_id
        assert "webhook delivery" not in api.log()  # the other replica sent it
    finally:
        for server in servers:
            server.stop()
