"""A job's live events (`GET /jobs/{id}/events`, an extension of this service): the
event type, the Server-Sent Events reader, and the resume state both clients share.

A follower reconnects after a broken connection with `Last-Event-ID` set to the last
event it got, so it sees every event once, in order, until the `end` event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from jobmanager.client.call import Call
from jobmanager.client.calls import segment
from jobmanager.client.calls.jobs import BASE

# Consecutive failed connections before a follower gives up.
RECONNECT_ATTEMPTS = 8
MAX_RECONNECT_DELAY_SECONDS = 10.0


@dataclass(frozen=True)
class JobEvent:
    """One event: `id` its sequence number (None for an end the server made up for a job
    without stored events), `kind` (status, started, finished, output, truncated, end)
    and `data` as the server sent it (see the API docs for each kind's fields)."""

    id: int | None
    kind: str
    data: dict[str, Any]

    @property
    def is_end(self) -> bool:
        return self.kind == "end"

    @property
    def text(self) -> str:
        """An output event's text ("" for other kinds)."""
        return str(self.data.get("text", "")) if self.kind == "output" else ""

    @property
    def stream(self) -> str:
        """An output event's stream: stdout, stderr or result."""
        return str(self.data.get("stream", ""))


class SseReader:
    """Turns a stream's lines into events (WHATWG "Server-sent events": fields up to a
    blank line; comments skipped; `retry` remembered)."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}
        self._data: list[str] = []
        self.retry_seconds: float | None = None

    def feed(self, line: str) -> JobEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "retry" and value.isdigit():
            self.retry_seconds = int(value) / 1000
        elif name in ("id", "event"):
            self._fields[name] = value
        return None

    def _dispatch(self) -> JobEvent | None:
        fields, data = self._fields, self._data
        self._fields, self._data = {}, []
        if not data:
            return None
        ident = fields.get("id", "")
        return JobEvent(
            int(ident) if ident.isdigit() else None,
            fields.get("event", "message"),
            json.loads("\n".join(data)),
        )


@dataclass
class Following:
    """Where a follower of one job is: the last event id, and whether it is over."""

    job_id: str
    last_event_id: int | None = None
    follow: bool = True
    done: bool = False
    failures: int = 0
    retry_seconds: float = 1.0  # the server's `retry`, once it said it
    pause: float = 0.0  # to wait before the next connection
    received: bool = False  # an event came on this connection
    reader: SseReader = field(default_factory=SseReader)

    def call(self) -> Call[None]:
        """The request from where the follower is (a fresh reader for a new connection)."""
        self.reader = SseReader()
        self.pause, self.received = 0.0, False
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        params = None if self.follow else {"follow": "false"}
        path = f"{BASE}/jobs/{segment(self.job_id)}/events"
        return Call("GET", path, _no_body, params=params, headers=headers)

    def line(self, line: str) -> JobEvent | None:
        """Read one line; the event it completes, if any."""
        event = self.reader.feed(line)
        self.retry_seconds = self.reader.retry_seconds or self.retry_seconds
        if event is None:
            return None
        self.failures, self.received = 0, True
        if event.id is not None:
            self.last_event_id = event.id
        self.done = event.is_end
        return event

    def closed(self) -> None:
        """The server closed the stream: without `follow` that is the end; else the next
        connection follows at once, or after a pause when nothing came on this one."""
        if not self.follow:
            self.done = True
        elif not self.received:
            self.pause = self.failed() or MAX_RECONNECT_DELAY_SECONDS

    def failed(self) -> float | None:
        """A connection failed: seconds to wait before the next, None to give up."""
        self.failures += 1
        if self.failures > RECONNECT_ATTEMPTS:
            return None
        return min(self.retry_seconds * self.failures, MAX_RECONNECT_DELAY_SECONDS)


def _no_body(_response: httpx.Response) -> None:
    return None
