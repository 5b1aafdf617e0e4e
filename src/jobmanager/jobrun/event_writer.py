"""What a running model reports, turned into the job's events (`store.events`).

The engine calls back from the thread that runs the model, for every piece of
output the kernel sends: that thread only queues it. A writer thread stores what
has gathered, at most every `FLUSH_SECONDS` — at once after a quiet spell, so a lone
`print` reaches a follower fast, while a print loop costs one row per stream and
paragraph per interval, not one per print. Paragraph (or cell) boundaries are
stored in order with the output: what is queued goes first.

Storing events must never fail a job: an error is logged and the batch dropped.
"""

from __future__ import annotations

import logging
import threading
import time

from jobmanager.domain.events import Chunk, EventKind, OutputBudget, Truncation, coalesce
from jobmanager.engine import Output, Progress, StepEnd
from jobmanager.store.events import EventRepository, NewEvent

log = logging.getLogger("jobmanager.events")

FLUSH_SECONDS = 0.05
# What one job may store of output in its events, whatever its paragraphs keep.
JOB_OUTPUT_LIMIT = 32 * 1024 * 1024


class EventWriter:
    """The events of one run; `close()` stores what is left and ends the writer thread."""

    def __init__(
        self,
        events: EventRepository,
        job_id: str,
        unit: str,
        step_limit: int,
        job_limit: int = JOB_OUTPUT_LIMIT,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.events = events
        self.job_id = job_id
        self.unit = unit
        self.flush_seconds = flush_seconds
        self._budget = OutputBudget(step_limit, job_limit, unit)
        self._pending: list[Chunk | Truncation] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._write_lock = threading.Lock()  # one batch at a time, in order
        self._closed = False
        self._last_flush = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"events-{job_id[:8]}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ engine callbacks

    def output(self, output: Output) -> None:
        chunk, notice = self._budget_take(Chunk(output.index, output.stream, output.text))
        if chunk is None and notice is None:
            return
        with self._lock:
            self._pending.extend(item for item in (chunk, notice) if item is not None)
            self._wake.notify()

    def started(self, progress: Progress) -> None:
        with self._lock:
            self._budget.next_step()
        data = {
            "unit": self.unit,
            "index": progress.index,
            "total": progress.total,
            "title": progress.title,
        }
        self._flush([(EventKind.STARTED, data)])

    def step_end(self, end: StepEnd) -> None:
        data = {
            "unit": self.unit,
            "index": end.index,
            "total": end.total,
            "status": end.status,
            "summary": end.summary,
        }
        self._flush([(EventKind.FINISHED, data)])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._thread.join()
        self._flush()

    # ------------------------------------------------------------ storing

    def _budget_take(self, chunk: Chunk) -> tuple[Chunk | None, Truncation | None]:
        with self._lock:
            return self._budget.take(chunk)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            delay = self._last_flush + self.flush_seconds - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # let a burst gather into one batch
            self._flush()

    def _flush(self, then: list[NewEvent] | None = None) -> None:
        """Store the queued output, then `then`, in one transaction."""
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            batch = [*_output_events(pending), *(then or [])]
            self._last_flush = time.monotonic()
            if not batch:
                return
            try:
                self.events.append(self.job_id, batch)
            except Exception:
                log.exception("job %s: %d events could not be stored", self.job_id, len(batch))


def _output_events(pending: list[Chunk | Truncation]) -> list[NewEvent]:
    """Output events, neighbours merged, truncation notices where they came."""
    events: list[NewEvent] = []
    run: list[Chunk] = []
    for item in [*pending, None]:
        if isinstance(item, Chunk):
            run.append(item)
            continue
        events.extend((EventKind.OUTPUT, chunk.payload()) for chunk in coalesce(run))
        run = []
        if item is not None:
            events.append((EventKind.TRUNCATED, item.payload()))
    return events
