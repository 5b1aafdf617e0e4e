"""Webhooks through HTTP on SQLite and PostgreSQL, with a real HTTP receiver: create,
read, list, delete, tenancy, bad input; deliveries signed, retried with backoff,
given up, logged, sent exactly once by racing replicas; `longerThan` once per job.

This process runs no jobs (`job_slots = 0`): tests submit jobs through the API and move
them through their statuses with the store's one status writer, as a worker does.
Deliveries are sent by `Notifier.run_once(now)` at a clock the test chooses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.domain.destinations import LOOPBACK_NETWORKS
from jobmanager.domain.statuses import JobStatus
from jobmanager.domain.webhooks import MAX_ATTEMPTS
from jobmanager.service.notifier import Notifier
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store import deliveries as store_deliveries
from jobmanager.store.types import utcnow
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import JOBS, runnable_references
from tests.integration.webhooks.api import WEBHOOKS, create_webhook, deliveries, signed
from tests.webhook_receiver import Receiver

SECRET = "s" * 32
LIFE = (JobStatus.STARTING, JobStatus.RUNNING, JobStatus.SUCCEEDED)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    settings.webhook_allowed_networks = list(LOOPBACK_NETWORKS)  # the receivers are local
    return settings


@pytest.fixture
def notifier(services: Services) -> Iterator[Notifier]:
    made = Notifier(services.store, services.settings.webhook_destinations)
    yield made
    made.stop()


@pytest.fixture
def references(client: TestClient, tenant_a: TenantClient) -> dict[str, str]:
    return runnable_references(client, tenant_a)


def submit(client: TestClient, tenant: TenantClient, references: dict[str, str]) -> str:
    answer = client.post(JOBS, headers=tenant.headers, json=references)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def live(services: Services, job_id: str, *path: JobStatus, **values: Any) -> None:
    """Move a job along `path`, one status after the other, as its worker would."""
    current = JobStatus.SUBMITTED
    for target in path:
        extra = {}
        if target is JobStatus.RUNNING:
            extra["running_since"] = values.get("running_since", utcnow())
        assert services.store.jobs.transition(job_id, [current], target, **extra)
        current = target


def test_create_shows_the_secret_once_then_get_list_and_delete(
    client: TestClient, tenant_a: TenantClient
) -> None:
    made = create_webhook(
        client, tenant_a, name="ops", url="https://example.com/hook", events=["failed"]
    )
    assert len(made["secret"]) >= 32
    assert made["events"] == ["failed"] and made["longerThanSeconds"] is None
    assert made["createdBy"] == "tenant-a"
    path = f"{WEBHOOKS}/{made['id']}"
    read = client.get(path, headers=tenant_a.headers).json()
    assert read["secret"] is None
    assert {k: v for k, v in read.items() if k != "secret"} == {
        k: v for k, v in made.items() if k != "secret"
    }
    listed = client.get(WEBHOOKS, headers=tenant_a.headers).json()
    assert [w["id"] for w in listed["webhooks"]] == [made["id"]]
    assert listed["page"]["totalElements"] == 1
    assert client.delete(path, headers=tenant_a.headers).status_code == 204
    assert_error(client.get(path, headers=tenant_a.headers), 404)
    assert_error(client.delete(path, headers=tenant_a.headers), 404)


def test_another_tenants_webhook_is_not_found(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    made = create_webhook(client, tenant_a, url="http://127.0.0.1:9/x", events=["started"])
    path = f"{WEBHOOKS}/{made['id']}"
    assert_error(client.get(path, headers=tenant_b.headers), 404)
    assert_error(client.get(f"{path}/deliveries", headers=tenant_b.headers), 404)
    assert_error(client.delete(path, headers=tenant_b.headers), 404)
    assert client.get(WEBHOOKS, headers=tenant_b.headers).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["exploded"]}, "events"),
        ({"events": ["failed", "failed"]}, "events"),
        ({"events": ["longerThan"]}, "longerThanSeconds"),
        ({"longerThanSeconds": 60}, "longerThanSeconds"),
        ({"events": ["longerThan"], "longerThanSeconds": 0}, "longerThanSeconds"),
        ({"secret": "short"}, "secret"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_webhooks_answer_400_naming_the_field(
    client: TestClient, tenant_a: TenantClient, changes: dict[str, Any], named: str
) -> None:
    body = {"url": "https://example.com/hook", "events": ["failed"], **changes}
    error = assert_error(client.post(WEBHOOKS, headers=tenant_a.headers, json=body), 400)
    assert named in error["message"]


def test_a_jobs_events_are_delivered_signed_once_each(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    hook = create_webhook(
        client, tenant_a, url=receiver.url, events=["started", "succeeded"], secret=SECRET
    )
    notifier.run_once()  # the outbox starts reading from now
    job_id = submit(client, tenant_a, references)
    live(services, job_id, *LIFE)
    notifier.run_once()
    notifier.run_once()
    requests = receiver.wait_for(2)
    assert len(receiver.received) == 2
    bodies = [json.loads(r["body"]) for r in requests]
    assert [b["event"] for b in bodies] == ["started", "succeeded"]
    assert [b["job"]["status"] for b in bodies] == ["RUNNING", "SUCCEEDED"]
    assert {b["job"]["id"] for b in bodies} == {job_id}
    assert {b["webhookId"] for b in bodies} == {hook["id"]}
    assert all(signed(r, SECRET) for r in requests)
    assert not signed(requests[0], "another secret of enough length")
    log = deliveries(client, tenant_a, hook["id"])
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("started", "delivered", 1),
        ("succeeded", "delivered", 1),
    ]
    assert log[0]["log"][0]["statusCode"] == 204 and log[0]["deliveryDate"]
    assert [d["id"] for d in log] == [b["id"] for b in bodies]


def test_only_the_asked_events_of_the_own_tenant_are_delivered(
    client: TestClient,
    tenant_a: TenantClient,
    tenant_b: TenantClient,
    services: Services,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    failures = create_webhook(client, tenant_a, url=receiver.url, events=["failed"])
    theirs = create_webhook(client, tenant_b, url=receiver.url, events=["succeeded"])
    notifier.run_once()
    live(services, submit(client, tenant_a, references), *LIFE)
    notifier.run_once()
    assert deliveries(client, tenant_a, failures["id"]) == []
    assert deliveries(client, tenant_b, theirs["id"]) == []
    assert receiver.received == []


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    client: TestClient,
    tenant_a: TenantClient,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    receiver.fail_first = 2
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"])
    notifier.run_once()
    job_id = submit(client, tenant_a, references)
    assert client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers).status_code == 200
    assert notifier.run_once() == 1  # attempt 1: 500
    (delivery,) = deliveries(client, tenant_a, hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == (
        "pending",
        1,
        500,
    )
    assert notifier.run_once() == 0  # not due again for a second
    assert notifier.run_once(utcnow() + timedelta(seconds=1.5)) == 1  # attempt 2: 500
    assert notifier.run_once(utcnow() + timedelta(seconds=1.5)) == 0  # now 2 s apart
    assert notifier.run_once(utcnow() + timedelta(seconds=5)) == 1  # attempt 3: 204
    (delivery,) = deliveries(client, tenant_a, hook["id"])
    assert delivery["status"] == "delivered" and delivery["nextAttemptDate"] is None
    assert [entry["statusCode"] for entry in delivery["log"]] == [500, 500, 204]
    assert len({r["body"] for r in receiver.received}) == 1  # the same delivery each time


def test_finished_deliveries_are_purged_with_the_old_jobs(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    receiver.fail_first = 1
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"])
    notifier.run_once()
    for _ in range(2):
        job_id = submit(client, tenant_a, references)
        client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers)
    notifier.run_once()  # one delivered, one failed once and pending
    assert services.store.deliveries.purge_finished(utcnow() - timedelta(minutes=1)) == 0
    assert services.store.deliveries.purge_finished(utcnow() + timedelta(minutes=1)) == 1
    (left,) = deliveries(client, tenant_a, hook["id"])
    assert left["status"] == "pending"


def test_a_receiver_that_never_answers_well_is_given_up(
    client: TestClient,
    tenant_a: TenantClient,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    receiver.stop()  # nothing listens there any more: each attempt is refused
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"])
    notifier.run_once()
    job_id = submit(client, tenant_a, references)
    client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers)
    for _ in range(MAX_ATTEMPTS):
        assert notifier.run_once(utcnow() + timedelta(hours=1)) == 1
    assert notifier.run_once(utcnow() + timedelta(days=1)) == 0
    (delivery,) = deliveries(client, tenant_a, hook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert delivery["lastStatusCode"] is None and "ConnectError" in delivery["lastError"]


def test_longer_than_is_sent_once_when_a_running_job_passes_it(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    hook = create_webhook(
        client, tenant_a, url=receiver.url, events=["longerThan"], longerThanSeconds=60
    )
    recent, old = submit(client, tenant_a, references), submit(client, tenant_a, references)
    live(services, recent, JobStatus.STARTING, JobStatus.RUNNING)
    live(
        services,
        old,
        JobStatus.STARTING,
        JobStatus.RUNNING,
        running_since=utcnow() - timedelta(seconds=61),
    )
    notifier.run_once()
    notifier.run_once()
    (request,) = receiver.wait_for(1)
    body = json.loads(request["body"])
    assert body["event"] == "longerThan" and body["job"]["id"] == old
    assert body["job"]["longerThanSeconds"] == 60
    notifier.run_once(utcnow() + timedelta(seconds=61))  # now the recent one passed it too
    assert [d["jobId"] for d in deliveries(client, tenant_a, hook["id"])] == [old, recent]


def test_more_events_at_once_than_a_round_reads_are_all_delivered(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rounds read two new events each here: the events a round reads again (those
    within the look-back before the cursor) never keep it from reading on."""
    monkeypatch.setattr(store_deliveries, "EVENTS_BATCH", 2)
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["started"])
    notifier.run_once()  # the outbox starts reading from now
    jobs = [submit(client, tenant_a, references) for _ in range(4)]
    for job_id in jobs:
        live(services, job_id, JobStatus.STARTING, JobStatus.RUNNING)
    for _ in range(10):
        notifier.run_once()
    receiver.wait_for(4)
    assert sorted(d["jobId"] for d in deliveries(client, tenant_a, hook["id"])) == sorted(jobs)


def test_racing_replicas_send_each_delivery_exactly_once(
    client: TestClient,
    tenant_a: TenantClient,
    services: Services,
    receiver: Receiver,
    references: dict[str, str],
) -> None:
    create_webhook(client, tenant_a, url=receiver.url, events=["stopped"])
    replicas = [Notifier(services.store, services.settings.webhook_destinations) for _ in range(3)]
    replicas[0].run_once()
    jobs = [submit(client, tenant_a, references) for _ in range(10)]
    done = threading.Event()

    def deliver(notifier: Notifier) -> None:
        while not done.is_set():
            notifier.run_once()
            time.sleep(0.005)

    threads = [threading.Thread(target=deliver, args=(n,), daemon=True) for n in replicas]
    for thread in threads:
        thread.start()
    try:
        for job_id in jobs:
            client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers)
        receiver.wait_for(len(jobs), timeout=60)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        for notifier in replicas:
            notifier.stop()
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert sorted(b["job"]["id"] for b in bodies) == sorted(jobs)  # each once, none twice


def test_deleting_a_webhook_stops_its_deliveries(
    client: TestClient,
    tenant_a: TenantClient,
    receiver: Receiver,
    notifier: Notifier,
    references: dict[str, str],
) -> None:
    hook = create_webhook(client, tenant_a, url=receiver.url, events=["stopped"])
    notifier.run_once()
    job_id = submit(client, tenant_a, references)
    client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers)
    assert client.delete(f"{WEBHOOKS}/{hook['id']}", headers=tenant_a.headers).status_code == 204
    assert notifier.run_once() == 0
    assert receiver.received == []
