"""A job's live events: their kinds, and the rules for the output they carry.

Output arrives from the kernel in many small chunks (a print loop sends one per
print). The worker batches them for a few milliseconds and `coalesce` merges what it
can, so a flood costs a few rows, not one per print. `OutputBudget` bounds what one
job stores: each paragraph or cell as much as its executed note keeps, the whole job
`job_limit` bytes; what goes beyond is dropped and said once, in a `truncated` event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """The `event:` field of the stream; each kind's `data` is described in the SPEC docs."""

    STATUS = "status"  # {status, message?}: the job's status changed
    STARTED = "started"  # {unit, index, total, title}: a paragraph or cell starts
    FINISHED = "finished"  # {unit, index, total, status, summary}: ... and ends
    OUTPUT = "output"  # {index, stream, text}: what the kernel printed or displayed
    TRUNCATED = "truncated"  # {index, scope, limitBytes}: output beyond a cap is dropped
    END = "end"  # {status, message}: the job is final; nothing follows


STREAMS = ("stdout", "stderr", "result")


@dataclass(frozen=True)
class Chunk:
    """Output of paragraph (or cell) `index`; `stream` is one of `STREAMS`."""

    index: int
    stream: str
    text: str

    def payload(self) -> dict[str, Any]:
        return {"index": self.index, "stream": self.stream, "text": self.text}


@dataclass(frozen=True)
class Truncation:
    """Output of paragraph `index` went beyond `limit_bytes` for this `scope`."""

    index: int
    scope: str  # "paragraph" (or cell): this one only; "job": every later one too
    limit_bytes: int

    def payload(self) -> dict[str, Any]:
        return {"index": self.index, "scope": self.scope, "limitBytes": self.limit_bytes}


def coalesce(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Merge neighbours of the same paragraph and stream, keeping the order."""
    merged: list[Chunk] = []
    for chunk in chunks:
        if not chunk.text:
            continue
        last = merged[-1] if merged else None
        if last is not None and (last.index, last.stream) == (chunk.index, chunk.stream):
            merged[-1] = replace(last, text=last.text + chunk.text)
        else:
            merged.append(chunk)
    return merged


def cut(text: str, limit_bytes: int) -> str:
    """The longest start of `text` whose UTF-8 encoding fits in `limit_bytes`."""
    return text.encode()[: max(limit_bytes, 0)].decode(errors="ignore")


class OutputBudget:
    """How much output a job may still store: per paragraph (or cell) and in total."""

    def __init__(self, step_limit: int, job_limit: int, unit: str = "paragraph") -> None:
        self.step_limit = step_limit
        self.job_limit = job_limit
        self.unit = unit
        self.step_used = 0
        self.job_used = 0
        self.step_full = False
        self.job_full = False

    def next_step(self) -> None:
        """A new paragraph or cell starts: its own budget is whole again."""
        self.step_used = 0
        self.step_full = False

    def take(self, chunk: Chunk) -> tuple[Chunk | None, Truncation | None]:
        """What of `chunk` may be stored, and the notice to store when a cap is reached
        now (once per paragraph, or once for the job)."""
        if self.job_full or self.step_full:
            return None, None
        size = len(chunk.text.encode())
        room_step = self.step_limit - self.step_used
        room_job = self.job_limit - self.job_used
        if size <= min(room_step, room_job):
            self.step_used += size
            self.job_used += size
            return chunk, None
        if room_job <= room_step:
            self.job_full = True
            notice = Truncation(chunk.index, "job", self.job_limit)
        else:
            self.step_full = True
            notice = Truncation(chunk.index, self.unit, self.step_limit)
        kept = cut(chunk.text, min(room_step, room_job))
        self.step_used += len(kept.encode())
        self.job_used += len(kept.encode())
        return (replace(chunk, text=kept) if kept else None), notice
