"""Wake-ups on SQLite: a commit that sent a topic calls its subscribers, a rollback calls
none, a loop woken by one runs its next round at once, and another process's commit
on the file wakes every subscriber."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from jobmanager.common.loops import Every
from jobmanager.common.wakeups import Topic, send
from jobmanager.store.db import Database


@pytest.fixture
def db() -> Iterator[Database]:
    """In memory: this process's wake-ups only (a file's also wake for other processes)."""
    database = Database("sqlite://")
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


def test_a_commit_of_another_process_on_the_file_wakes_every_subscriber(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'jobmanager.db'}"
    db = Database(url)
    woken: queue.Queue[str] = queue.Queue()
    db.wakeups.subscribe(Topic.STATUSES, woken.put)
    other = Database(url)  # as another process's: its commits are not `db`'s
    try:
        with other.engine.begin() as connection:  # a write that sends nothing itself
            connection.execute(text("CREATE TABLE written_elsewhere (x INTEGER)"))
        assert woken.get(timeout=30) == ""  # what changed is not known: anything may have
    finally:
        other.dispose()
        db.dispose()
