"""A job's events as Server-Sent Events (`GET /jobs/{id}/events`, an extension).

The stream reads the `job_events` table, never a process's memory: it works the same
whichever worker (local slot, Celery worker on another machine) runs the job, and on
any replica. It replays what is stored after the resume point, then polls every
`POLL_SECONDS` until the `end` event, which it sends last. A comment line now and
then keeps proxies from closing a quiet stream and finds a client that left; the
loop also asks the server whether the client is gone each time it waits.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread

from jobmanager.api.schemas import timestamp
from jobmanager.domain.events import EventKind
from jobmanager.store.events import READ_BATCH, EventRecord
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

POLL_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
# How often a waiting stream checks that its job still exists and is not final
# without an `end` event to come (a resume point after the end, or a job that ended
# before events were recorded); the first time as soon as it waits.
JOB_CHECK_SECONDS = 2.0
RETRY_MILLISECONDS = 1000
MEDIA_TYPE = "text/event-stream"


class OpenStreams:
    """How many event streams this process serves now (a client that leaves ends one),
    and whether they must end: a server that stops waits for its open answers, so its
    streams end first (their clients resume elsewhere, or once it is back)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self.closing = threading.Event()

    @property
    def count(self) -> int:
        return self._count

    def change(self, by: int) -> None:
        with self._lock:
            self._count += by


def sse_message(event: EventRecord) -> str:
    """One event: `id` is its sequence number, `event` its kind, `data` one JSON line."""
    data = {**event.payload, "time": timestamp(event.created_at)}
    return f"id: {event.seq}\nevent: {event.kind.value}\ndata: {_json(data)}\n\n"


def final_message(job: JobRecord | None) -> str:
    """The end of a job that has no `end` event (it ended before events were recorded,
    or it was deleted): no `id`, so a resume point stays the last stored event."""
    data = {"status": job.status.value, "message": job.message} if job else {"status": "DELETED"}
    return f"event: {EventKind.END.value}\ndata: {_json(data)}\n\n"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class EventStream:
    """The stream of one job's events after sequence number `after`; with `follow`
    False it ends once what is stored is sent, else at the job's `end` event."""

    def __init__(
        self,
        store: Store,
        job_id: str,
        after: int,
        follow: bool,
        disconnected: Callable[[], Awaitable[bool]],
        streams: OpenStreams,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.after = after
        self.follow = follow
        self.disconnected = disconnected
        self.streams = streams

    async def messages(self) -> AsyncIterator[str]:
        self.streams.change(+1)
        try:
            yield f"retry: {RETRY_MILLISECONDS}\n\n"
            async for message in self._events():
                yield message
        finally:
            self.streams.change(-1)

    async def _events(self) -> AsyncIterator[str]:
        sent_at, checked_at = time.monotonic(), float("-inf")  # check at the first wait
        while True:
            events = await self._read()
            for event in events:
                yield sse_message(event)
                self.after = event.seq
                if event.kind is EventKind.END:
                    return
            if events:
                sent_at = time.monotonic()
            if len(events) == READ_BATCH:
                continue
            if not self.follow or self.streams.closing.is_set() or await self.disconnected():
                return
            if time.monotonic() - checked_at >= JOB_CHECK_SECONDS:
                checked_at = time.monotonic()
                job, ended = await self._ended_without_end()
                if ended:
                    yield final_message(job)
                    return
            if time.monotonic() - sent_at >= KEEPALIVE_SECONDS:
                sent_at = time.monotonic()
                yield ": keep-alive\n\n"
            await anyio.sleep(POLL_SECONDS)

    async def _read(self) -> list[EventRecord]:
        return await anyio.to_thread.run_sync(self.store.events.after, self.job_id, self.after)

    async def _ended_without_end(self) -> tuple[JobRecord | None, bool]:
        """Whether the job is gone, or final with nothing left to read: a job's `end`
        event is stored with its final status, so only an old job can be so."""
        job = await anyio.to_thread.run_sync(self.store.jobs.get_any, self.job_id)
        if job is not None and not job.is_final:
            return job, False
        return job, not await self._read()
