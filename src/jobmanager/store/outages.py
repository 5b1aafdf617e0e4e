"""Riding out a database restart: a write that a job's story needs is tried again while
the database does not answer, instead of being lost with the job.

Only errors that say the connection is gone (refused, closed by a restart, a failover)
count; a refused constraint or a bug fails at once. Compare-and-set writes are safe to
repeat: one that did commit before its connection broke finds nothing left to change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("jobmanager.store")

# Longer than a restart or a failover takes, shorter than anyone would wait for a job.
PATIENCE_SECONDS = 120.0
_PAUSE_SECONDS = 1.0

Result = TypeVar("Result")


def database_away(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached, not that it refused."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError)
    )


def patiently(write: Callable[[], Result], what: str, patience: float = PATIENCE_SECONDS) -> Result:
    """`write()`, tried again every second while the database is away, for up to
    `patience` seconds; then its error is raised."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return write()
        except DBAPIError as error:
            if not database_away(error) or time.monotonic() >= deadline:
                raise
            log.warning("the database is away (%s); %s again in a second", error.orig, what)
            time.sleep(_PAUSE_SECONDS)
