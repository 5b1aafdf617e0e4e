"""Riding out a database restart: a write that a job's story needs is tried again while
the database does not answer, instead of being lost with the job.

Only errors that say the connection is gone (refused, closed by a restart, a failover)
count; a refused constraint, a full disk (`store/space.py`: waiting would only wedge the
job) or a bug fails at once. Compare-and-set writes are safe to
repeat: one that did commit before its connection broke finds nothing left to change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from jobmanager.store.space import full_storage

log = logging.getLogger("jobmanager.store")

# Longer than a restart or a failover takes, shorter than anyone would wait for a job.
PATIENCE_SECONDS = 120.0
_PAUSE_SECONDS = 1.0

Result = TypeVar("Result")


def database_away(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached, not that it refused (a
    full disk is a refusal: SQLite and PostgreSQL say so with an OperationalError too)."""
    return (
        isinstance(error, DBAPIError)
        and (error.connection_invalidated or isinstance(error, OperationalError))
        and full_storage(error) is None
    )


def patiently(
    write: Callable[[], Result],
    what: str,
    patience: float = PATIENCE_SECONDS,
    *,
    for_room: bool = False,
) -> Result:
    """`write()`, tried again every second while the database is away, for up to
    `patience` seconds; then its error is raised. With `for_room`, also while its disk is
    full: for the writes a job's end needs (its slot, its final status), which nothing can
    replace, once its outputs were saved or dropped for lack of room (a full disk logs
    itself: `store/space.py`)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return write()
        except DBAPIError as error:
            away = database_away(error)
            if not (away or (for_room and full_storage(error))):
                raise
            if time.monotonic() >= deadline:
                raise
            if away:
                log.warning("the database is away (%s); %s again in a second", error.orig, what)
            time.sleep(_PAUSE_SECONDS)
