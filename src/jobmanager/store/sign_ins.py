"""Failed sign-ins, counted per minute in the database so that every replica counts on
the same rows: a caller cannot get a replica's worth of tries from each one behind a
balancer. The rule (which counters, what limit, how long to wait) is `domain/sign_ins.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, select

from jobmanager.domain.sign_ins import WINDOW, FailureCount
from jobmanager.store.db import Database
from jobmanager.store.query import conflict_insert
from jobmanager.store.tables import SignInFailure


class SignInRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def counts(self, keys: list[str]) -> dict[str, FailureCount]:
        """The counters of these keys that exist (a missing one has counted nothing)."""
        query = select(SignInFailure).where(SignInFailure.key.in_(keys))
        with self.db.reading() as session:
            return {
                row.key: FailureCount(row.window_start, row.failures)
                for row in session.scalars(query)
            }

    def record_failure(self, keys: list[str], now: datetime) -> None:
        """Count one failure on each key: one more in its window, or the first of a new
        window when the old one is over. One statement per key, safe with other replicas
        counting at once."""
        table = SignInFailure.__table__
        current = table.c.window_start > now - WINDOW
        with self.db.transaction(essential=True) as session:
            for key in sorted(keys):  # one order: no two transactions wait on each other
                statement = conflict_insert(session, table).values(
                    key=key, window_start=now, failures=1
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.c.key],
                        set_={
                            "failures": case((current, table.c.failures + 1), else_=1),
                            "window_start": case((current, table.c.window_start), else_=now),
                        },
                    )
                )

    def forget_expired(self, now: datetime) -> int:
        """Delete the counters whose window is over; how many."""
        with self.db.transaction(essential=True) as session:
            result = session.execute(
                delete(SignInFailure).where(SignInFailure.window_start <= now - WINDOW)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
