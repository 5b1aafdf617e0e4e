"""A job's events as Server-Sent Events (`GET /jobs/{id}/events`, an extension).

The stream reads the `job_events` table, never a process's memory: it works the same
whichever worker (local slot, Celery worker on another machine) runs the job, and on
any replica. It replays what is stored after the resume point, then follows the job
through the feed this process keeps for it (`event_feed.py`) until the `end` event,
which it sends last. A comment line now and then keeps proxies from closing a quiet
stream; a client that leaves ends the stream (the server cancels it, and the loop
asks as it waits).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio.to_thread

from jobmanager.api.event_feed import JobFeed, StreamHub
from jobmanager.api.schemas import timestamp
from jobmanager.api.schemas.events import DELETED
from jobmanager.domain.events import EventKind
from jobmanager.store.events import READ_BATCH, EventRecord
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 1000
MEDIA_TYPE = "text/event-stream"


# Every line break of the format (WHATWG HTML, "Server-sent events"): a reader ends a line
# at any of them, a lone `\r` included.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def sse_frame(name: str, data: str, seq: int | None = None) -> str:
    """One message. Each line of `data` goes on a `data:` line of its own, split at every
    line break a reader knows, so nothing in the data can start a field or end the message
    (the reader joins the lines with `\n`); `name` and `seq` are the service's own."""
    head = f"id: {seq}\n" if seq is not None else ""
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return f"{head}event: {name}\n{lines}\n"


def sse_message(event: EventRecord) -> str:
    """One event: `id` is its sequence number, `event` its kind, `data` one JSON line."""
    data = {**event.payload, "time": timestamp(event.created_at)}
    return sse_frame(event.kind.value, _json(data), event.seq)


def final_message(job: JobRecord | None) -> str:
    """The end of a job that has no `end` event (it ended before events were recorded,
    or it was deleted): no `id`, so a resume point stays the last stored event."""
    if job is None:
        data = {"status": DELETED, "message": "The job was deleted.", "time": _now()}
    else:
        ended = timestamp(job.end_date) if job.end_date else _now()
        data = {"status": job.status.value, "message": job.message, "time": ended}
    return sse_frame(EventKind.END.value, _json(data))


class EventFormat(Protocol):
    """How a stream writes a stored event and the end of a job that has no `end` event:
    the API writes them as they are (`sse_message`, `final_message`); the console as
    HTML fragments."""

    def event(self, event: EventRecord) -> str: ...

    def final(self, job: JobRecord | None) -> str: ...


class JsonEvents:
    """The API's format: each event's JSON data."""

    def event(self, event: EventRecord) -> str:
        return sse_message(event)

    def final(self, job: JobRecord | None) -> str:
        return final_message(job)


def _now() -> str:
    return timestamp(datetime.now(UTC))


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
        hub: StreamHub,
        format: EventFormat | None = None,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.after = after
        self.follow = follow
        self.disconnected = disconnected
        self.hub = hub
        self.format = format or JsonEvents()

    async def messages(self) -> AsyncIterator[str]:
        async with self.hub.open():
            yield f"retry: {RETRY_MILLISECONDS}\n\n"
            events = self._followed() if self.follow else self._stored()
            async for message in events:
                yield message

    async def _stored(self) -> AsyncIterator[str]:
        while True:
            events = await self._read()
            for event in events:
                yield self.format.event(event)
                self.after = event.seq
            if len(events) < READ_BATCH:
                return

    async def _followed(self) -> AsyncIterator[str]:
        sent_at = time.monotonic()
        async with self.hub.feed(self.store, self.job_id, self.after) as feed:
            while True:
                seen = feed.rounds
                events = feed.after(self.after)
                if events is None:  # before the feed's window, or before its first read
                    events = await self._read()
                for event in events:
                    yield self.format.event(event)
                    self.after = event.seq
                    if event.kind is EventKind.END:
                        return
                if events:
                    sent_at = time.monotonic()
                    continue
                if self.hub.closing.is_set() or await self.disconnected():
                    return
                if _ended_without_end(feed, self.after):
                    yield self.format.final(feed.final_job)
                    return
                if time.monotonic() - sent_at >= KEEPALIVE_SECONDS:
                    sent_at = time.monotonic()
                    yield ": keep-alive\n\n"
                await feed.next_round(seen, KEEPALIVE_SECONDS)

    async def _read(self) -> list[EventRecord]:
        return await anyio.to_thread.run_sync(self.store.events.after, self.job_id, self.after)


def _ended_without_end(feed: JobFeed, after: int) -> bool:
    """Whether a stream at `after` has all there is of a job that is final without an
    `end` event to come, or deleted (its events with it)."""
    return feed.ended_without_end and (after >= feed.last or feed.final_job is None)
