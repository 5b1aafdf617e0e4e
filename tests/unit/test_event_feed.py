"""A job feed's window: what a stream at a given position takes from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from jobmanager.api.event_feed import JobFeed
from jobmanager.domain.events import EventKind
from jobmanager.store.events import EventRecord
from jobmanager.store.store import Store

NOT_USED = cast(Store, None)  # the window's rules read no table


def event(seq: int, kind: EventKind = EventKind.OUTPUT) -> EventRecord:
    data: dict[str, Any] = {"index": 1, "stream": "stdout", "text": str(seq)}
    return EventRecord("job", seq, kind, data, datetime(2026, 11, 30, tzinfo=UTC))


def test_a_stream_takes_what_follows_its_position_once_the_feed_has_read() -> None:
    feed = JobFeed(NOT_USED, "job", after=3)
    assert feed.after(3) is None  # nothing read yet: the stream reads the table
    feed.take([event(4), event(5), event(6)])
    feed.read_once = True
    assert [e.seq for e in feed.after(3) or []] == [4, 5, 6]
    assert [e.seq for e in feed.after(5) or []] == [6]
    assert feed.after(6) == [] and feed.after(9) == []
    assert feed.after(2) is None  # before the window: the table again
    assert not feed.end_seen


def test_the_window_keeps_the_latest_events_only() -> None:
    feed = JobFeed(NOT_USED, "job", after=0, window_events=3)
    feed.read_once = True
    feed.take([event(n) for n in range(1, 6)])
    feed.take([event(6, EventKind.END)])
    assert feed.base == 3 and feed.last == 6 and feed.end_seen
    assert [e.seq for e in feed.after(3) or []] == [4, 5, 6]
    assert feed.after(2) is None
