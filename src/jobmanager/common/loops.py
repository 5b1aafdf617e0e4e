"""`Every`: the one way the service runs a task again and again in the background.

The reaper, the sweeper, the worker's monitor and the scheduler each give it one round
of their work; it runs the rounds in a daemon thread until stopped. A round that fails
is logged and the loop goes on: a background task must never die of one bad round.
`wake()` runs the next round at once (a write it waits for was committed: `wakeups.py`).
An error the loop's `away` test calls an outage (the store's `database_away`: the
database does not answer) is said once when it starts and once when it ends (`Outage`),
not with a traceback every round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("jobmanager.loops")


class Outage:
    """One loop's view of the database being away: a line when the outage starts, one
    when it ends, with its length."""

    def __init__(
        self,
        name: str,
        away: Callable[[BaseException], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.away = away
        self.clock = clock
        self.since: float | None = None

    def failed(self, error: BaseException) -> bool:
        """Whether `error` says the database is away (said when the outage starts)."""
        if not self.away(error):
            return False
        if self.since is None:
            self.since = self.clock()
            cause = getattr(error, "orig", None) or error
            log.warning("%s: the database is away (%s); waiting for it", self.name, cause)
        return True

    def succeeded(self) -> None:
        """A round went through: the end of the outage, if there was one."""
        if self.since is not None:
            log.info("%s: the database is back after %.1f s", self.name, self.clock() - self.since)
            self.since = None


class Every:
    """Call `round` every `seconds` (or after what it returns: the seconds until it wants
    to run again) in a thread named `name`, from `start()` until `stop()`."""

    def __init__(
        self,
        name: str,
        seconds: float,
        round: Callable[[], float | None],
        *,
        away: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        self.name = name
        self.seconds = seconds
        self.round = round
        self.outage = Outage(name, away)
        self._closing = threading.Event()
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def wake(self, *_: object) -> None:
        """Run the next round now, not after its wait (any arguments: a subscriber's)."""
        self._woken.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._closing.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        wait = 0.0
        while True:
            self._woken.wait(wait)
            self._woken.clear()
            if self._closing.is_set():
                return
            try:
                asked = self.round()
                self.outage.succeeded()
            except Exception as error:
                if not self.outage.failed(error):
                    log.exception("a round of %s failed; it goes on", self.name)
                asked = None
            wait = self.seconds if asked is None else max(0.0, asked)
