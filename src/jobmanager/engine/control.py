"""When a run must end early: a stop request or the deadline."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

StopSignal = threading.Event | Callable[[], bool]


class StopReason(enum.Enum):
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Control:
    """`deadline` is a `time.monotonic()` instant; `grace` is how long an interrupted
    kernel or shell gets to stop before its processes are killed."""

    stop: StopSignal | None = None
    deadline: float | None = None
    grace: float = 5.0

    def reason(self) -> StopReason | None:
        """Why the run must end now, or None to go on."""
        if self.stop is not None:
            stopped = self.stop.is_set() if isinstance(self.stop, threading.Event) else self.stop()
            if stopped:
                return StopReason.STOPPED
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return StopReason.TIMED_OUT
        return None

    def wait(self, cap: float) -> float:
        """How long a blocking wait may last before `reason()` must be checked again: at
        most `cap`, less if the deadline comes first (once it has passed, `cap` again, so
        that waiting out a grace period does not spin)."""
        if self.deadline is None:
            return cap
        remaining = self.deadline - time.monotonic()
        return cap if remaining <= 0 else min(cap, remaining)
