"""One reader of the `job_events` table per followed job and process, shared by all the
streams that follow the job here: a hundred followers cost one query per poll, not a
hundred.

A feed reads the job's new events every `POLL_SECONDS` into a window of the latest
`WINDOW_EVENTS`, and now and then the job itself, to tell that it ended without an
`end` event to come. A stream takes what the window holds after its own position,
and reads the table itself only for what came before the window (a late follower
replaying the start). Feeds live in the event loop of the server; one stops with its
last stream.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread

from jobmanager.domain.events import EventKind
from jobmanager.store.events import READ_BATCH, EventRecord
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.api.events")

POLL_SECONDS = 0.05
WINDOW_EVENTS = 2000
# How often a feed reads its job: a job that is final (or deleted) without an `end`
# event to come (a resume point after the end, or a job that ended before events
# were recorded) ends its streams; the first time at once.
JOB_CHECK_SECONDS = 2.0


class JobFeed:
    """The events of one job after `base` as this process read them, in order."""

    def __init__(
        self, store: Store, job_id: str, after: int, window_events: int = WINDOW_EVENTS
    ) -> None:
        self.store = store
        self.window_events = window_events
        self.job_id = job_id
        self.base = after  # the window holds the events numbered base+1 .. last
        self.window: list[EventRecord] = []
        self.last = after
        self.read_once = False
        self.end_seen = False
        self.ended_without_end = False
        self.final_job: JobRecord | None = None  # the job as it was found final
        self.subscribers = 0
        self._round = asyncio.Event()
        self._checked_at = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def after(self, seq: int) -> list[EventRecord] | None:
        """The events after `seq` held here ([] when there are none yet); None when the
        window does not reach back to `seq` (the caller reads the table)."""
        if not self.read_once or seq < self.base:
            return None
        return self.window[seq - self.base :]  # numbers are gapless: an index each

    async def next_round(self, timeout: float) -> None:
        """Wait until the feed has read again (at most `timeout` seconds)."""
        current = self._round
        with anyio.move_on_after(timeout):
            await current.wait()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            try:
                await self._read()
            except Exception:
                log.exception("job %s: reading its events failed; trying again", self.job_id)
            finished, self._round = self._round, asyncio.Event()
            finished.set()
            await asyncio.sleep(POLL_SECONDS)

    async def _read(self) -> None:
        job: JobRecord | None = None
        checking = time.monotonic() - self._checked_at >= JOB_CHECK_SECONDS
        if checking:  # the job first: its `end` event was stored with its final status
            self._checked_at = time.monotonic()
            job = await anyio.to_thread.run_sync(self.store.jobs.get_any, self.job_id)
        while True:
            new = await anyio.to_thread.run_sync(self.store.events.after, self.job_id, self.last)
            self.take(new)
            if len(new) < READ_BATCH:
                break
        self.read_once = True
        if checking and (job is None or job.is_final):
            self.final_job = job
            self.ended_without_end = not self.end_seen

    def take(self, new: list[EventRecord]) -> None:
        """Add what was read after `last`, keeping the window's size."""
        if not new:
            return
        self.window.extend(new)
        self.last = new[-1].seq
        self.end_seen = self.end_seen or any(e.kind is EventKind.END for e in new)
        extra = len(self.window) - self.window_events
        if extra > 0:
            del self.window[:extra]
            self.base += extra


class StreamHub:
    """The event streams of this process: how many are open, the shared feeds, and
    whether they must end (a server that stops waits for its open answers, so its
    streams end first; their clients resume elsewhere, or once it is back)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self._feeds: dict[str, JobFeed] = {}
        self.closing = threading.Event()

    @property
    def count(self) -> int:
        return self._count

    @asynccontextmanager
    async def open(self) -> AsyncIterator[None]:
        with self._lock:
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1

    @asynccontextmanager
    async def feed(self, store: Store, job_id: str, after: int) -> AsyncIterator[JobFeed]:
        """The job's feed, started for the first of its streams, stopped after the last."""
        feed = self._feeds.get(job_id)
        if feed is None:
            feed = self._feeds[job_id] = JobFeed(store, job_id, after)
            feed.start()
        feed.subscribers += 1
        try:
            yield feed
        finally:
            feed.subscribers -= 1
            if feed.subscribers == 0:
                del self._feeds[job_id]
                feed.stop()
