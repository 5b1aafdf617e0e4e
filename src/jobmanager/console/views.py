"""What the console's templates show, made from records: times, durations, a job's
timeline, its message chain. Pure functions: no request, no store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobmanager.domain.statuses import FINAL, JobStatus
from jobmanager.store.events import EventRecord

# Statuses from which a job can still be stopped.
STOPPABLE = frozenset({JobStatus.SUBMITTED, JobStatus.STARTING, JobStatus.RUNNING})


@dataclass(frozen=True)
class Phase:
    """A status the job was in, from when, for how long (None: it is still in it)."""

    status: str
    message: str
    began: datetime
    seconds: float | None


def timeline(
    created: datetime, events: Sequence[EventRecord], now: datetime | None = None
) -> list[Phase]:
    """The job's statuses in order with the time spent in each: SUBMITTED from its
    creation, then one phase per status event. A final status takes no time; the
    current live one counts until `now`."""
    marks: list[tuple[str, str, datetime]] = [(JobStatus.SUBMITTED.value, "", created)]
    marks += [(e.payload["status"], e.payload.get("message", ""), e.created_at) for e in events]
    now = now or datetime.now(UTC)
    phases = []
    for index, (status, message, began) in enumerate(marks):
        if index + 1 < len(marks):
            seconds: float | None = (marks[index + 1][2] - began).total_seconds()
        elif status in FINAL:
            seconds = None
        else:
            seconds = (now - began).total_seconds()
        phases.append(Phase(status, message, began, seconds))
    return phases


def message_chain(message: str) -> list[str]:
    """`Outer [inner [cause]]` as its parts, outermost first (domain/messages.py writes
    them); a message that is not one nested chain is one part."""
    parts = []
    text = message.strip()
    while text.endswith("]") and " [" in text:
        outer, _, inner = text.partition(" [")
        inner = inner[:-1]
        if "[" in outer or "]" in outer or not _balanced(inner):
            break
        parts.append(outer)
        text = inner
    return [*parts, text] if text else parts


def _balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth += {"[": 1, "]": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def when(value: datetime | str | None) -> str:
    """A time as people read it, in UTC to the second (ISO 8601 text too; text that is not
    a time is shown as it is)."""
    if isinstance(value, str):
        try:
            moment: datetime | None = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def duration(seconds: float | None) -> str:
    """`850 ms`, `12.4 s`, `3 min 05 s`, `2 h 04 min`."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def size(count: int | None) -> str:
    """A number of bytes, short: `912 B`, `4.2 KiB`, `1.5 MiB`."""
    if count is None:
        return ""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def progress_text(progress: dict[str, Any] | None) -> str:
    """`paragraph 2 of 5: Load the data` from a job's progress."""
    if not progress:
        return ""
    text = f"{progress.get('unit', 'step')} {progress.get('current')} of {progress.get('total')}"
    title = progress.get("title")
    return f"{text}: {title}" if title else text


def status_class(status: str) -> str:
    """The CSS class of a status badge."""
    return f"status-{status.lower()}"


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "iso": iso,
    "duration": duration,
    "size": size,
    "progress_text": progress_text,
    "status_class": status_class,
}
