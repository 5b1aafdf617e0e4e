"""Wake-ups across processes on a real PostgreSQL: a NOTIFY sent in one engine's
transaction wakes a subscriber of another engine (another replica) once it commits."""

from __future__ import annotations

import queue
from collections.abc import Callable

from jobmanager.common.wakeups import Topic, send
from jobmanager.store.db import Database


def putter(woken: queue.Queue[tuple[Topic, str]], topic: Topic) -> Callable[[str], None]:
    def put(payload: str) -> None:
        woken.put((topic, payload))

    return put


def test_a_commit_on_one_engine_wakes_a_subscriber_of_another(postgres_url: str) -> None:
    listening, writing = Database(postgres_url), Database(postgres_url)
    woken: queue.Queue[tuple[Topic, str]] = queue.Queue()
    try:
        for topic in (Topic.EVENTS, Topic.STATUSES):
            listening.wakeups.subscribe(topic, putter(woken, topic))
        with writing.transaction() as session:
            send(session, Topic.STATUSES, "job-1")
            send(session, Topic.STATUSES, "job-1")  # once per transaction
        assert woken.get(timeout=30) == (Topic.STATUSES, "job-1")
        with writing.transaction() as session:
            send(session, Topic.EVENTS, "job-2")
        assert woken.get(timeout=30) == (Topic.EVENTS, "job-2")  # nothing came between
    finally:
        listening.dispose()
        writing.dispose()
