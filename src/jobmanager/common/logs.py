"""Log lines as JSON (`JOBMANAGER_LOG_FORMAT=json`), carrying what they are about.

`log_fields(...)` opens a scope (a request, a job run) whose log lines carry its fields;
`add_log_fields(...)` adds to the open scope once more is known (the tenant once the
caller is authenticated, the `logref` of an error answer). The fields live in one dict
shared by reference through a context variable: code that runs in a copied context
(FastAPI runs sync dependencies and routes in worker threads) adds to the same scope.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Fields a log call may pass itself (`extra={"logref": ...}`).
RECORD_FIELDS = ("tenant", "job", "logref")
_fields: ContextVar[dict[str, str] | None] = ContextVar("jobmanager_log_fields", default=None)


@contextmanager
def log_fields(**fields: str) -> Iterator[None]:
    """Log lines inside carry `fields`, and those of any scope around this one."""
    token = _fields.set({**(_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def add_log_fields(**fields: str) -> None:
    """Add to the open scope; nothing outside one."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the scope's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(_fields.get() or {}),
        }
        for name in RECORD_FIELDS:
            if hasattr(record, name):
                line[name] = str(getattr(record, name))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
