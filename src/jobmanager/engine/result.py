"""What a run reports: progress while it goes, a result at the end."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"


def first_line(text: str, width: int = 60) -> str:
    """The first non-blank line of `text`, cut to `width`: how progress names code."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:width]


@dataclass(frozen=True)
class Progress:
    """Paragraph (or cell) `index` of `total` (1-based) is starting; `title` names it."""

    index: int
    total: int
    title: str

    def __str__(self) -> str:
        return (
            f"{self.index} of {self.total}: {self.title}"
            if self.title
            else (f"{self.index} of {self.total}")
        )


@dataclass(frozen=True)
class RunResult:
    """`message` is for people (which paragraph failed, why the run ended)."""

    outcome: Outcome
    message: str
    executed_path: Path

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED
