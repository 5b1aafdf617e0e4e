"""Request and response bodies, one module per service area, and their shared formats."""

from __future__ import annotations

from datetime import UTC, datetime


def timestamp(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as every answer shows: `2018-10-01T12:00:00.001Z`."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )
