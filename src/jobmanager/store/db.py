"""The database connection: engine, transactions, and migrations applied at start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from jobmanager.common.wakeups import Wakeups, wakeups_for
from jobmanager.store.space import DiskSpace

MIGRATIONS = Path(__file__).parent / "migrations"
# Serialises migrations when several replicas start on one PostgreSQL at once.
_MIGRATION_LOCK_KEY = 7_316_402_113


class Database:
    """One engine and its sessions. Repositories open transactions through `transaction()`.
    `space` is the local disks' state (`store/space.py`; by default none is watched);
    `wakeups` wakes who waits for a write once it commits (`wakeups.py`)."""

    def __init__(self, url: str, *, space: DiskSpace | None = None, **engine_options: Any) -> None:
        self.url = url
        self.space = space or DiskSpace([])
        self.engine: Engine = _make_engine(url, **engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.wakeups: Wakeups = wakeups_for(self.engine)
        self.wakeups.bind(self._sessions)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, essential: bool = False) -> Iterator[Session]:
        """A session whose work is committed at the end, or rolled back on any error.

        While the database's disk is full, only an `essential` write begins — one that
        must commit on a full disk: a delete, a stop, a status move, a heartbeat; the disk's
        reserve is released for it first. Any other raises DiskFull (`store/space.py`)."""
        if essential:
            self.space.make_room("database")
        else:
            self.space.require_room("database")
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: on SQLite it does not take the write lock."""
        with self._read_sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        """The migration the database is at; None when it has none (no tables yet)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.wakeups.close()
        self.engine.dispose()


def head_revision() -> str:
    """The newest migration of this version of jobmanager."""
    return str(ScriptDirectory.from_config(alembic_config("")).get_current_head())


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _make_engine(url: str, **options: Any) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip per transaction. A connection the server
    # dropped fails one statement, which invalidates the pool; the next one reconnects.
    options.setdefault("pool_recycle", 1800)
    return create_engine(url, **options)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def _ensure_sqlite_folder(url: str) -> None:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level so that SQLAlchemy's "begin" event decides
    # how a transaction starts (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Filters' `contains` is case-sensitive, as PostgreSQL's LIKE is.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock at BEGIN, so read-then-write transactions never deadlock.

    Sessions opened by `Database.reading` start a plain (deferred) transaction instead.
    """
    if connection.get_execution_options().get("read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
