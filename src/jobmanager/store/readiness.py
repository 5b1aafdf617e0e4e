"""Readiness: can this process use the database and the blob store right now?"""

from __future__ import annotations

import logging

from sqlalchemy import text

from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.readiness")
PROBE = b"jobmanager readiness probe"


def unready_parts(store: Store) -> list[str]:
    """The parts that do not answer: `database`, `blob store`; empty when all do."""
    problems = []
    try:
        with store.db.reading() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        problems.append("database")
    try:
        _probe_blobs(store)
    except Exception:
        log.warning("readiness: the blob store does not answer", exc_info=True)
        problems.append("blob store")
    return problems


def _probe_blobs(store: Store) -> None:
    """Write, read back and delete a small blob: what a job's outputs will need."""
    key = store.blobs.new_key()
    store.blobs.write(key, [PROBE])
    try:
        if b"".join(store.blobs.read_chunks(key)) != PROBE:
            raise OSError("the blob store returned other bytes than were written")
    finally:
        store.blobs.delete(key)
