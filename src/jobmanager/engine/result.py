"""What a run reports: progress while it goes, a result at the end."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobmanager.engine.control import Control, Outcome


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
class Output:
    """Output of paragraph (or cell) `index` as the kernel sends it: `stream` is
    "stdout", "stderr" (tracebacks too) or "result" (a displayed value's text)."""

    index: int
    stream: str
    text: str


@dataclass(frozen=True)
class StepEnd:
    """Paragraph (or cell) `index` of `total` ended: `status` is FINISHED, ERROR or
    ABORT (Zeppelin's words, for cells too); `summary` is a line about its result."""

    index: int
    total: int
    status: str
    summary: str


OutputCallback = Callable[[Output], None]
StepEndCallback = Callable[[StepEnd], None]


def last_text_line(texts: Sequence[str], width: int = 120) -> str:
    """The last non-blank line of the last text that has one: what a summary shows."""
    for text in reversed(texts):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1][:width]
    return ""


@dataclass(frozen=True)
class RunResult:
    """`message` is for people (which paragraph failed, why the run ended)."""

    outcome: Outcome
    message: str
    executed_path: Path
    # Paragraphs (or cells) run again before the run proper to restore the kernel's
    # state, their earlier results kept (a repair: `replay_before` of `Environment.run`).
    replayed: tuple[int, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED


@dataclass(frozen=True)
class Failure:
    """A failed paragraph or cell: its number (1-based), how to name it, what went wrong."""

    number: int
    label: str
    detail: str


def ended_result(control: Control, where: str, path: Path) -> RunResult:
    """The result of a run that `control` ended (a stop request, the deadline or a limit),
    `where` it was."""
    reason = control.reason() or Outcome.STOPPED
    if reason is Outcome.TIMED_OUT:
        return RunResult(
            Outcome.TIMED_OUT, f"The maximum execution time was exceeded {where}", path
        )
    if reason is Outcome.LIMIT_EXCEEDED and control.breach is not None:
        return RunResult(Outcome.LIMIT_EXCEEDED, f"{control.breach()} {where}", path)
    return RunResult(Outcome.STOPPED, f"Stopped {where}", path)


def with_breach(result: RunResult, breach: str | None) -> RunResult:
    """A run during which a limit was hit ends naming it, however it ended otherwise (a
    killed kernel fails its paragraph; the run may even have gone on to its end)."""
    if breach is None or result.outcome is Outcome.LIMIT_EXCEEDED:
        return result
    if result.outcome is Outcome.STOPPED:  # a stop request wins over a limit
        return result
    return RunResult(Outcome.LIMIT_EXCEEDED, f"{breach} ({result.message})", result.executed_path)


def finished_result(failures: Sequence[Failure], total: int, unit: str, path: Path) -> RunResult:
    """The result of a run that went to its end; `unit` is "paragraphs" or "cells"."""
    if not failures:
        ran = f"All {total} {unit} ran" if total != 1 else f"The {unit[:-1]} ran"
        return RunResult(Outcome.SUCCEEDED, ran, path)
    first = failures[0]
    message = f"{first.label[:1].upper()}{first.label[1:]} failed: {first.detail}"
    if len(failures) > 1:
        others = ", ".join(str(f.number) for f in failures[1:])
        message += f" ({unit} {others} failed too)"
    return RunResult(Outcome.FAILED, message, path)


def replay_failed(label: str, detail: str, path: Path) -> RunResult:
    """The result of a run whose replay failed: the kernel's state cannot be restored."""
    return RunResult(
        Outcome.FAILED, f"{label[:1].upper()}{label[1:]} failed when replayed: {detail}", path
    )
