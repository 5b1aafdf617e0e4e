"""`Every`: the one way the service runs a task again and again in the background.

The reaper, the sweeper, the worker's monitor and the scheduler each give it one round
of their work; it runs the rounds in a daemon thread until stopped. A round that fails
is logged and the loop goes on: a background task must never die of one bad round.
`wake()` runs the next round at once (a write it waits for was committed: `wakeups.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("jobmanager.loops")


class Every:
    """Call `round` every `seconds` (or after what it returns: the seconds until it wants
    to run again) in a thread named `name`, from `start()` until `stop()`."""

    def __init__(self, name: str, seconds: float, round: Callable[[], float | None]) -> None:
        self.name = name
        self.seconds = seconds
        self.round = round
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
            except Exception:
                log.exception("a round of %s failed; it goes on", self.name)
                asked = None
            wait = self.seconds if asked is None else max(0.0, asked)
