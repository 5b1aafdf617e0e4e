"""When a run must end early — a stop request, the deadline, a limit hit — and how an
execution is ended: interrupt, wait a grace period, kill."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

StopSignal = threading.Event | Callable[[], bool]


class Outcome(enum.Enum):
    """How a run ended: the engine's one word for it. `Control.reason` answers with the
    three that end a run early; the service maps each to how a job's attempt ended
    (`jobrun/worker.py`, `END_OF_RUN`)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"
    LIMIT_EXCEEDED = "limit_exceeded"


class ExecStatus(enum.Enum):
    """How one execution (a paragraph on a kernel, a shell script, a cell) ended."""

    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # ended by a stop request, the deadline or a limit
    UNRESPONSIVE = "unresponsive"  # interrupted, still busy after the grace, then killed
    DIED = "died"


@dataclass(frozen=True)
class Control:
    """`deadline` is a `time.monotonic()` instant; `grace` is how long an interrupted
    kernel or shell gets to stop before its processes are killed; `breach` tells which
    limit of the environment was hit (None while none is)."""

    stop: StopSignal | None = None
    deadline: float | None = None
    grace: float = 5.0
    breach: Callable[[], str | None] | None = None

    def reason(self) -> Outcome | None:
        """Why the run must end now, or None to go on."""
        if self.stop is not None:
            stopped = self.stop.is_set() if isinstance(self.stop, threading.Event) else self.stop()
            if stopped:
                return Outcome.STOPPED
        if self.breach is not None and self.breach() is not None:
            return Outcome.LIMIT_EXCEEDED
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return Outcome.TIMED_OUT
        return None

    def limit_hit(self) -> bool:
        """Whether a limit was hit: the run ends then, even between executions (a limit
        may kill a kernel, which fails a paragraph without interrupting it)."""
        return self.reason() is Outcome.LIMIT_EXCEEDED

    def wait(self, cap: float) -> float:
        """How long a blocking wait may last before `reason()` must be checked again: at
        most `cap`, less if the deadline comes first (once it has passed, `cap` again, so
        that waiting out a grace period does not spin)."""
        if self.deadline is None:
            return cap
        remaining = self.deadline - time.monotonic()
        return cap if remaining <= 0 else min(cap, remaining)


class Escalation:
    """Ending one execution, the one way every executor does it: once the run must end,
    `interrupt` it; if it is still busy `control.grace` seconds later, `kill` it.

    Call `due()` each time the wait for the execution wakes up; when it answers True the
    execution was killed and the caller stops waiting. `status(...)` says how it ended.
    """

    def __init__(
        self, control: Control, interrupt: Callable[[], None], kill: Callable[[], None]
    ) -> None:
        self.control = control
        self._interrupt = interrupt
        self._kill = kill
        self.interrupted_at: float | None = None
        self.killed = False

    def due(self) -> bool:
        if self.interrupted_at is None:
            if self.control.reason() is not None:
                self._interrupt()
                self.interrupted_at = time.monotonic()
            return False
        if time.monotonic() - self.interrupted_at > self.control.grace:
            self._kill()
            self.killed = True
        return self.killed

    def status(self, finished: ExecStatus) -> ExecStatus:
        """How the execution ended, given how it finished by itself (if it did)."""
        if self.killed:
            return ExecStatus.UNRESPONSIVE
        return ExecStatus.INTERRUPTED if self.interrupted_at is not None else finished
