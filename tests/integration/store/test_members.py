"""The cluster's members (`store/members.py`, `service/presence.py`): a process's presence is
seen while it announces itself and gone once it stops or its word is older than the
heartbeat timeout; `/metrics` counts the workers alive in `jobmanager_workers`."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient

from jobmanager.service.presence import Presence, replica, worker
from jobmanager.startup.services import Services
from jobmanager.store.types import utcnow


def workers_gauge(client: TestClient) -> float:
    text = client.get("/metrics").text
    line = next(line for line in text.splitlines() if line.startswith("jobmanager_workers "))
    return float(line.split()[1])


def test_a_presence_is_seen_while_it_lasts(services: Services) -> None:
    members = services.store.members
    presence = Presence(members, worker("host-1:41:abcd"), timeout=15)
    presence.start()
    try:
        deadline = time.monotonic() + 10
        while not members.alive(utcnow() - timedelta(seconds=15)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        [seen] = members.alive(utcnow() - timedelta(seconds=15))
        assert (seen.id, seen.kind) == ("host-1:41:abcd", "worker")
    finally:
        presence.stop()
    assert members.alive(utcnow() - timedelta(seconds=15)) == []


def test_a_replica_records_its_key_and_url_and_an_old_word_is_gone(services: Services) -> None:
    members = services.store.members
    member = replica("key-0123", "https://jobs.example.com")
    members.announce(member, utcnow() - timedelta(seconds=20))
    assert members.alive(utcnow() - timedelta(seconds=15)) == []
    members.announce(member, utcnow())
    [seen] = members.alive(utcnow() - timedelta(seconds=15))
    assert (seen.kind, seen.key_id, seen.public_url) == (
        "api",
        "key-0123",
        "https://jobs.example.com",
    )
    members.announce(worker("gone:1:x"), utcnow() - timedelta(days=2))
    members.announce(member, utcnow())  # rows of processes a day gone are deleted
    assert [m.id for m in members.alive(utcnow() - timedelta(days=3))] == [member.id]


def test_metrics_count_the_workers_alive(client: TestClient, services: Services) -> None:
    assert workers_gauge(client) == 0
    members = services.store.members
    members.announce(worker("host-1:41:a"), utcnow())
    members.announce(worker("host-2:42:b"), utcnow())
    members.announce(worker("host-3:43:c"), utcnow() - timedelta(seconds=60))  # dead
    members.announce(replica("key-1", None), utcnow())  # not a worker
    assert workers_gauge(client) == 2
    members.leave("host-1:41:a")
    assert workers_gauge(client) == 1
