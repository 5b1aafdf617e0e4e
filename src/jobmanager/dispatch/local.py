"""The embedded default: a pool of job slots in this process, first come first served.

Each slot is a thread that claims the oldest waiting job by compare-and-set and runs
it. `dispatch` only wakes the slots; they also look for work every few seconds, so a
job is never stranded by a lost wake-up.
"""

from __future__ import annotations

import logging
import threading

from jobmanager.dispatch.base import Dispatcher
from jobmanager.jobrun.worker import Worker

log = logging.getLogger("jobmanager.dispatch")
IDLE_POLL_SECONDS = 2.0


class LocalDispatcher(Dispatcher):
    def __init__(self, worker: Worker, slots: int) -> None:
        self.worker = worker
        self.slots = slots
        self._wake = threading.Condition()
        self._pending_wakes = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def dispatch(self, job_id: str) -> None:
        with self._wake:
            self._pending_wakes += 1
            self._wake.notify()

    def start(self) -> None:
        for number in range(self.slots):
            thread = threading.Thread(target=self._slot, name=f"job-slot-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=1)

    def _slot(self) -> None:
        while not self._stopping.is_set():
            try:
                ran = self.worker.run_next()
            except Exception:
                log.exception("a job slot failed; it goes on")
                ran = False
            if not ran:
                self._sleep()

    def _sleep(self) -> None:
        with self._wake:
            if self._pending_wakes == 0:
                self._wake.wait(IDLE_POLL_SECONDS)
            self._pending_wakes = max(0, self._pending_wakes - 1)
