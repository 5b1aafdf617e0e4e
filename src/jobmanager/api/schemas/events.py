"""The messages of a job's event stream (`GET /jobs/{id}/events`) as the OpenAPI
document describes them: one schema per Server-Sent Event, as OpenAPI 3.1 reads the
`schema` of `text/event-stream` (`docs/events.md` is the prose of the same).

An event is its `id`, `event` (its kind) and `data`; `data` is JSON text, so it is a
string whose `contentSchema` (by kind) says what the text holds. The `retry:` line
and `: keep-alive` comments are no events.
"""

from __future__ import annotations

from typing import Any

from jobmanager.domain.events import STREAMS, EventKind
from jobmanager.domain.statuses import FINAL, JobStatus

# `end` of a job deleted (by retention) while it was followed.
DELETED = "DELETED"
UNITS = ("paragraph", "cell")
STEP_STATUSES = ("FINISHED", "ERROR", "ABORT")
TRUNCATION_SCOPES = (*UNITS, "job")

_TEXT: dict[str, Any] = {"type": "string"}
_STEP: dict[str, Any] = {"type": "integer", "minimum": 1}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _enum(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _data(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """The schema of one kind's `data`: these fields, and `time` (when it happened)."""
    return {
        "type": "object",
        "required": [*required, "time"],
        "properties": {**properties, "time": {"type": "string", "format": "date-time"}},
    }


def _data_of_kinds() -> dict[EventKind, dict[str, Any]]:
    statuses = [status.value for status in JobStatus]
    final = [status.value for status in JobStatus if status in FINAL]
    return {
        EventKind.STATUS: _data(["status"], status=_enum(statuses), message=_TEXT),
        EventKind.STARTED: _data(
            ["unit", "index", "total", "title"],
            unit=_enum(UNITS),
            index=_STEP,
            total=_COUNT,
            title=_TEXT,
        ),
        EventKind.OUTPUT: _data(
            ["index", "stream", "text"], index=_COUNT, stream=_enum(STREAMS), text=_TEXT
        ),
        EventKind.FINISHED: _data(
            ["unit", "index", "total", "status", "summary"],
            unit=_enum(UNITS),
            index=_STEP,
            total=_COUNT,
            status=_enum(STEP_STATUSES),
            summary=_TEXT,
        ),
        EventKind.TRUNCATED: _data(
            ["index", "scope", "limitBytes"],
            index=_COUNT,
            scope=_enum(TRUNCATION_SCOPES),
            limitBytes=_COUNT,
        ),
        EventKind.END: _data(["status", "message"], status=_enum([*final, DELETED]), message=_TEXT),
    }


def event_schema() -> dict[str, Any]:
    """One message of the stream: `id` is its sequence number (absent on a made-up
    `end`), `event` its kind, `data` one JSON object of that kind's fields."""
    kinds = [
        {
            "properties": {
                "event": {"const": kind.value},
                "data": {"contentMediaType": "application/json", "contentSchema": data},
            }
        }
        for kind, data in _data_of_kinds().items()
    ]
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[1-9][0-9]*$"},
            "event": _enum([kind.value for kind in EventKind]),
            "data": {"type": "string"},
        },
        "oneOf": kinds,
    }
