"""The Alembic migrations build exactly the schema the tables describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jobmanager.store.db import Database
from jobmanager.store.tables import Base


def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        db.dispose()
    assert differences == []


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.migrate()
        db.migrate()
    finally:
        db.dispose()
