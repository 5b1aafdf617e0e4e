"""One reader of the `job_events` table per process, shared by every event stream: a
thousand followers cost no thread, no connection and no query of their own.

Each followed job has a `JobFeed`, a window of its latest `WINDOW_EVENTS` events as
this process read them; a stream takes what the window holds after its own position,
and reads the table itself only for what came before the window (a late follower
replaying the start). The `StreamHub`'s one poller task fills the feeds: it reads a
job's new events when a write of them commits, in any process (`wakeups.py`), and
every `SAFETY_SECONDS` it reads every followed job — whether it has new events, and
whether it ended without an `end` event to come (a resume point after the end, a job
that ended before events were recorded, a job deleted) — so that nothing rests on a
wake-up alone. Streams wait for their feed's next round on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from jobmanager.common.wakeups import Topic
from jobmanager.domain.events import EventKind
from jobmanager.store.events import READ_BATCH, EventRecord
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.api.events")

WINDOW_EVENTS = 2000
SAFETY_SECONDS = 2.0  # every followed job is read this often without a wake-up


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
        self.rounds = 0  # how many rounds the poller made for this feed
        self._round = asyncio.Event()

    def after(self, seq: int) -> list[EventRecord] | None:
        """The events after `seq` held here ([] when there are none yet); None when the
        window does not reach back to `seq` (the caller reads the table)."""
        if not self.read_once or seq < self.base:
            return None
        return self.window[seq - self.base :]  # numbers are gapless: an index each

    async def next_round(self, seen: int, timeout: float) -> None:
        """Wait until the feed has had a round after round `seen` (at most `timeout` s)."""
        current = self._round
        if self.rounds != seen:
            return
        with anyio.move_on_after(timeout):
            await current.wait()

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

    def ended(self, job: JobRecord | None) -> None:
        """The job was found final (or gone: None)."""
        self.final_job = job
        self.ended_without_end = not self.end_seen

    def end_round(self) -> None:
        """Wake the streams waiting for a round."""
        self.rounds += 1
        finished, self._round = self._round, asyncio.Event()
        finished.set()


@dataclass
class _Read:
    """What one round read, for the feeds it read (applied on the event loop)."""

    events: dict[str, list[EventRecord]] = field(default_factory=dict)
    ended: dict[str, JobRecord | None] = field(default_factory=dict)


def _read(store: Store, positions: dict[str, int], check: Collection[str], all_: bool) -> _Read:
    """In a worker thread: the jobs in `check` that ended, then the new events of the jobs
    at `positions` (with `all_`, only of those whose last number moved)."""
    read = _Read(ended=store.jobs.ended(check) if check else {})
    if all_:
        lasts = store.events.last_numbers(positions)
        positions = {j: at for j, at in positions.items() if lasts.get(j, 0) > at}
    for job_id, at in positions.items():
        new: list[EventRecord] = []
        while True:
            batch = store.events.after(job_id, at)
            new += batch
            at = batch[-1].seq if batch else at
            if len(batch) < READ_BATCH:
                break
        read.events[job_id] = new
    return read


def _nothing() -> None:
    pass


class _Closing:
    """Whether the streams must end (a server that stops waits for its open answers, so
    its streams end first; their clients resume elsewhere, or once it is back). Setting
    it, from any thread, wakes every stream."""

    def __init__(self, hub: StreamHub) -> None:
        self._event = threading.Event()
        self._hub = hub

    def set(self) -> None:
        self._event.set()
        self._hub.wake_all()

    def is_set(self) -> bool:
        return self._event.is_set()


class StreamHub:
    """The event streams of this process: how many are open, the shared feeds and their
    poller, and whether they must end."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self._feeds: dict[str, JobFeed] = {}
        self.closing = _Closing(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._woken: set[str] = set()
        self._everyone = False
        self._unsubscribe: Callable[[], None] = _nothing

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
        """The job's feed, made for the first of its streams, dropped after the last."""
        feed = self._feeds.get(job_id)
        if feed is None:
            feed = self._feeds[job_id] = JobFeed(store, job_id, after)
            self._start(store)
            self._woke(job_id)
        feed.subscribers += 1
        try:
            yield feed
        finally:
            feed.subscribers -= 1
            if feed.subscribers == 0:
                del self._feeds[job_id]
                if not self._feeds:
                    self._stop()

    def wake_all(self) -> None:
        """From any thread: a round for every feed, at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._woke, "")

    def _start(self, store: Store) -> None:
        if self._poller is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._poller = self._loop.create_task(self._poll(store))
        self._unsubscribe = store.db.wakeups.subscribe(Topic.EVENTS, self._written)

    def _stop(self) -> None:
        self._unsubscribe()
        if self._poller is not None:
            self._poller.cancel()
        self._poller = None

    def _written(self, job_id: str) -> None:
        """A wake-up (in the thread that committed): a followed job's events were written."""
        loop = self._loop
        if loop is not None and (not job_id or job_id in self._feeds):
            loop.call_soon_threadsafe(self._woke, job_id)

    def _woke(self, job_id: str) -> None:
        if job_id:
            self._woken.add(job_id)
        else:
            self._everyone = True
        self._wake.set()

    async def _poll(self, store: Store) -> None:
        safety_at = time.monotonic() + SAFETY_SECONDS
        while True:
            with anyio.move_on_after(max(0.0, safety_at - time.monotonic())):
                await self._wake.wait()
            self._wake.clear()
            everyone = self._everyone or time.monotonic() >= safety_at
            if time.monotonic() >= safety_at:
                safety_at = time.monotonic() + SAFETY_SECONDS
            woken, self._woken, self._everyone = self._woken, set(), False
            feeds = dict(self._feeds) if everyone else {}
            feeds.update({j: self._feeds[j] for j in woken if j in self._feeds})
            try:
                await self._round(store, feeds, everyone)
            except Exception:
                log.exception("reading the followed jobs' events failed; trying again")
                await asyncio.sleep(1.0)  # a database away: not in a tight loop
            for feed in feeds.values():
                feed.end_round()

    async def _round(self, store: Store, feeds: dict[str, JobFeed], everyone: bool) -> None:
        """Read the feeds' new events; check the jobs of every feed on a safety round,
        of a new feed, and of one woken with nothing new (its job was deleted, maybe)."""
        positions = {job_id: feed.last for job_id, feed in feeds.items()}
        fresh = [j for j, feed in feeds.items() if not feed.read_once]
        check = list(feeds) if everyone else fresh
        read = await anyio.to_thread.run_sync(_read, store, positions, check, everyone)
        idle = {j: at for j, at in positions.items() if not read.events.get(j) and j not in check}
        if idle:  # the job, then its events again
            more = await anyio.to_thread.run_sync(_read, store, idle, list(idle), False)
            read.ended.update(more.ended)
            read.events.update(more.events)
        for job_id, feed in feeds.items():
            feed.take(read.events.get(job_id, []))
            feed.read_once = True
            if job_id in read.ended:  # the job first: its `end` came with its final status
                feed.ended(read.ended[job_id])
