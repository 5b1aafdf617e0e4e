"""In-process wake-ups (SQLite): a commit that sent a topic calls its subscribers, a
rollback calls none, and a loop woken by one runs its next round at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.loops import Every
from jobmanager.store.db import Database
from jobmanager.wakeups import Topic, send


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'jobmanager.db'}")
    yield database
    database.dispose()


def test_a_commit_wakes_the_topics_subscribers_with_what_was_sent(db: Database) -> None:
    events: list[str] = []
    statuses: list[str] = []
    db.wakeups.subscribe(Topic.EVENTS, events.append)
    db.wakeups.subscribe(Topic.STATUSES, statuses.append)
    with db.transaction() as session:
        send(session, Topic.EVENTS, "job-1")
        assert events == []  # not before the commit
    assert events == ["job-1"] and statuses == []


def failed_write(db: Database) -> None:
    with db.transaction() as session:
        send(session, Topic.SCHEDULES)
        raise RuntimeError("the write fails")


def test_a_rollback_wakes_nobody_and_an_unsubscribed_callback_is_not_called(
    db: Database,
) -> None:
    woken: list[str] = []
    gone: list[str] = []
    db.wakeups.subscribe(Topic.SCHEDULES, woken.append)
    db.wakeups.subscribe(Topic.SCHEDULES, gone.append)()  # subscribed, then undone
    with pytest.raises(RuntimeError):
        failed_write(db)
    assert woken == []
    with db.transaction() as session:
        send(session, Topic.SCHEDULES)
    assert woken == [""] and gone == []


def test_a_loop_that_waits_an_hour_runs_at_once_when_woken(db: Database) -> None:
    rounds: list[int] = []
    second = threading.Event()

    def round_() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            second.set()

    loop = Every("woken-loop", 3600, round_)
    db.wakeups.subscribe(Topic.STATUSES, loop.wake)
    loop.start()
    try:
        with db.transaction() as session:
            send(session, Topic.STATUSES, "job-1")
        assert second.wait(30)  # the first round at start, the second woken
    finally:
        loop.stop()
