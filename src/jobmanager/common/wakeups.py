"""Wake-ups: a write tells the loops waiting for it, in this process and in others.

The loops that would otherwise poll fast — the webhook outbox, the scheduler, the event
streams — sleep long (a safety poll: nothing relies on a wake-up arriving, say after a
crash) and are woken when something they wait for is committed. The store, which owns
every write, sends a topic inside the transaction that writes (`send`); the
subscribers of the topic are called once it commits, never for a rollback:

- `Wakeups`: in this process, from the session's commit.
- `SqliteWakeups`: the same, and a commit of another process on the file (a Celery
  worker's, an admin command's), seen by `PRAGMA data_version` on a connection of its
  own every `WATCH_SECONDS`, wakes every subscriber (what it wrote is not known). A
  look that finds this process's own commits too wakes nobody: the safety polls catch
  what another process wrote in the same moment.
- `PostgresWakeups`: the same, and a `NOTIFY` in the writing transaction, which
  PostgreSQL delivers on commit to every process that `LISTEN`s (another replica, the
  API process of a Celery worker's job); each process listens on one connection of its
  own, opened by its first subscriber (which returns once it listens, or after
  `LISTEN_START_SECONDS` if the database does not answer), and skips what it sent itself.

A subscriber is called in the thread that committed, or in the listener's thread: it
must only wake its loop (set an event), never do the work.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("jobmanager.common.wakeups")

Callback = Callable[[str], None]  # the payload; "" for "anything may have changed"
_PENDING = "jobmanager.common.wakeups.pending"  # the session's sends, waiting for its commit
_OWNER = "jobmanager.common.wakeups"  # the `Wakeups` of the session's database
RECONNECT_SECONDS = 1.0
LISTEN_TIMEOUT_SECONDS = 1.0  # how long a stop waits for the listener at most
LISTEN_START_SECONDS = 5.0
WATCH_SECONDS = 0.25


class Topic(StrEnum):
    EVENTS = "jobmanager_events"  # a job's events were written; the payload is its id
    STATUSES = "jobmanager_statuses"  # a job's status changed; the payload is its id
    SCHEDULES = "jobmanager_schedules"  # a schedule may fire sooner: made, started, a file


class Wakeups:
    """The topics of one database in this process: who waits for each, and the sends
    waiting for their transaction's commit."""

    def __init__(self) -> None:
        self._subscribers: dict[Topic, list[Callback]] = {topic: [] for topic in Topic}
        self._lock = threading.Lock()

    def bind(self, sessions: sessionmaker[Session]) -> None:
        """Deliver the sends of these sessions' transactions when they commit."""
        sessions.configure(info={**sessions.kw.get("info", {}), _OWNER: self})
        event.listen(sessions, "after_commit", self._committed)
        event.listen(sessions, "after_rollback", self._rolled_back)

    def subscribe(self, topic: Topic, callback: Callback) -> Callable[[], None]:
        """Call `callback` for each send of `topic` committed from now on; what undoes it."""
        with self._lock:
            self._subscribers[topic].append(callback)
        self._started()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers[topic]:
                    self._subscribers[topic].remove(callback)

        return unsubscribe

    def send_in(self, session: Session, topic: Topic, payload: str) -> None:
        session.info.setdefault(_PENDING, set()).add((topic, payload))

    def deliver(self, topic: Topic, payload: str) -> None:
        with self._lock:
            callbacks = list(self._subscribers[topic])
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:  # one subscriber's failure must not cost the others theirs
                log.exception("a subscriber of %s failed", topic.value)

    def deliver_all(self) -> None:
        """Wake every subscriber for anything: what changed meanwhile is not known."""
        for topic in Topic:
            self.deliver(topic, "")

    def close(self) -> None:
        """Stop what `subscribe` started (nothing here)."""

    def _started(self) -> None:
        """Called by each subscribe: start listening to other processes, if there is that."""

    def _committed(self, session: Session) -> None:
        for topic, payload in session.info.pop(_PENDING, ()):
            self.deliver(topic, payload)

    def _rolled_back(self, session: Session) -> None:
        session.info.pop(_PENDING, None)


class SqliteWakeups(Wakeups):
    """In this process as `Wakeups`, and the commits of other processes on the file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._commits = 0  # this process's, counted by the watcher's looks
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._watching = threading.Event()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(WATCH_SECONDS * 4)

    def _started(self) -> None:
        with self._lock:
            if self._thread is not None or self._closing.is_set():
                return
            self._thread = threading.Thread(target=self._watch, name="wakeups", daemon=True)
        self._thread.start()
        self._watching.wait(LISTEN_START_SECONDS)  # what is written from now on wakes it

    def _committed(self, session: Session) -> None:
        self._commits += 1
        super()._committed(session)

    def _watch(self) -> None:
        try:
            connection = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.Error as error:
            log.warning("other processes' writes wake nobody here: %s", error)
            return
        try:
            version, commits = _data_version(connection), self._commits
            self._watching.set()
            while not self._closing.wait(WATCH_SECONDS):
                now, ours = _data_version(connection), self._commits
                if now != version and ours == commits:
                    self.deliver_all()
                version, commits = now, ours
        except sqlite3.Error as error:
            log.warning("watching for other processes' writes stopped: %s", error)
        finally:
            connection.close()


def _data_version(connection: sqlite3.Connection) -> int:
    """A number that changes when another connection commits to the file."""
    return int(connection.execute("PRAGMA data_version").fetchone()[0])


class PostgresWakeups(Wakeups):
    """In this process as `Wakeups`, and through LISTEN/NOTIFY for the others."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._origin = uuid.uuid4().hex  # this process's sends, which it delivered already
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self._listening = threading.Event()

    def send_in(self, session: Session, topic: Topic, payload: str) -> None:
        if (topic, payload) in session.info.get(_PENDING, ()):
            return  # one NOTIFY of each per transaction
        super().send_in(session, topic, payload)
        session.execute(
            text("SELECT pg_notify(:topic, :payload)"),
            {"topic": topic.value, "payload": f"{self._origin}:{payload}"},
        )

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(LISTEN_TIMEOUT_SECONDS * 2)

    def _started(self) -> None:
        with self._lock:
            if self._thread is not None or self._closing.is_set():
                return
            self._thread = threading.Thread(target=self._listen, name="wakeups", daemon=True)
        self._thread.start()
        self._listening.wait(LISTEN_START_SECONDS)  # what is sent from now on wakes it

    def _listen(self) -> None:
        """Listen until closed; after a lost connection, again (waking everyone: what
        was sent meanwhile is lost)."""
        first = True
        while not self._closing.is_set():
            try:
                connection = self._open()
                if not first:
                    self.deliver_all()
                first = False
                self._receive(connection)
            except Exception as error:
                log.warning("listening for wake-ups failed (%s); again in a moment", error)
                self._closing.wait(RECONNECT_SECONDS)
            finally:
                self._close_connection()

    def _open(self) -> Any:
        pooled = self.engine.raw_connection()
        connection: Any = pooled.driver_connection
        pooled.detach()  # its own connection for good, not the pool's
        self._connection = connection
        connection.autocommit = True
        for topic in Topic:
            connection.execute(f'LISTEN "{topic.value}"')
        self._listening.set()
        return connection

    def _receive(self, connection: Any) -> None:
        while not self._closing.is_set():
            for notice in connection.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                origin, _, payload = notice.payload.partition(":")
                if origin != self._origin:
                    self.deliver(Topic(notice.channel), payload)

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a connection already lost
                log.debug("closing the wake-ups connection failed", exc_info=True)


def send(session: Session, topic: Topic, payload: str = "") -> None:
    """Inside the transaction that writes: wake the topic's subscribers once it commits
    (nothing for a session of no `Wakeups`)."""
    wakeups = session.info.get(_OWNER)
    if isinstance(wakeups, Wakeups):
        wakeups.send_in(session, topic, payload)


def wakeups_for(engine: Engine) -> Wakeups:
    """The wake-ups of a database: LISTEN/NOTIFY on PostgreSQL, a SQLite file's own."""
    if engine.dialect.name == "postgresql":
        return PostgresWakeups(engine)
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:":
        return SqliteWakeups(path)
    return Wakeups()
