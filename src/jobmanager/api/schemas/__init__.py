"""Request and response bodies, one module per service area, and their shared formats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobmanager.domain.names import (
    DISPLAY_NAME_PATTERN,
    MAX_DISPLAY_NAME_CHARS,
    NameRuleError,
    check_display_name,
)

# `check_display_name` in the document (the validators check, with better messages than
# a failed pattern's).
DISPLAY_NAME_SCHEMA: dict[str, Any] = {
    "pattern": DISPLAY_NAME_PATTERN,
    "minLength": 1,
    "maxLength": MAX_DISPLAY_NAME_CHARS,
}


def optional_display_name(value: str | None, what: str) -> str | None:
    """A field validator's check of an optional display name (`what` names it)."""
    if value is None:
        return None
    try:
        return check_display_name(value, what)
    except NameRuleError as error:
        raise ValueError(str(error)) from None


def refuse_null(value: Any) -> Any:
    """A `mode="before"` validator of fields the document offers only to leave out."""
    if value is None:
        raise ValueError("must not be null; leave the field out")
    return value


def integral(value: Any) -> Any:
    """A JSON number with no fraction (`18.0`) is an integer, as JSON Schema counts: a
    `mode="before"` validator of strict integer fields."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def timestamp(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as every answer shows: `2018-10-01T12:00:00.001Z`."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )
