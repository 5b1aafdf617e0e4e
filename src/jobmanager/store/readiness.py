"""Readiness: can this process use its disks, the database and the blob store right now?"""

from __future__ import annotations

import logging

from sqlalchemy import text

from jobmanager.store.space import WHERE, noticed
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.readiness")
PROBE = b"jobmanager readiness probe"


def unready_parts(store: Store) -> list[str]:
    """What keeps this process from being ready, a sentence each: a full disk
    (`store/space.py`), a database or a blob store that does not answer; empty when none."""
    problems = store.space.full_sentences()
    try:
        with store.db.reading() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        problems.append("the database did not answer")
    if not store.space.room_for("blobs"):
        return problems  # said already: a probe would only be refused
    try:
        _probe_blobs(store)
    except Exception as error:
        storage = noticed(error)
        if storage is not None:
            problems.append(f"{WHERE[storage]} is full")
        else:
            log.warning("readiness: the blob store does not answer", exc_info=True)
            problems.append("the blob store did not answer")
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
