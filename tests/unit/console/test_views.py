"""What the console's pages show, from records: timelines, message chains, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobmanager.console.views import (
    duration,
    message_chain,
    progress_text,
    size,
    timeline,
    when,
)
from jobmanager.domain.events import EventKind
from jobmanager.domain.messages import chain
from jobmanager.store.events import EventRecord

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def status_event(seq: int, status: str, seconds: float, message: str = "") -> EventRecord:
    payload = {"status": status, "message": message}
    return EventRecord("job", seq, EventKind.STATUS, payload, START + timedelta(seconds=seconds))


def test_the_timeline_gives_each_status_the_time_until_the_next() -> None:
    events = [
        status_event(1, "STARTING", 0.5),
        status_event(2, "RUNNING", 2.5, "Started notebook execution."),
        status_event(3, "SUCCEEDED", 12.5, "All 5 paragraphs ran"),
    ]
    phases = timeline(START, events)
    assert [(p.status, p.seconds) for p in phases] == [
        ("SUBMITTED", 0.5),
        ("STARTING", 2.0),
        ("RUNNING", 10.0),
        ("SUCCEEDED", None),
    ]
    assert phases[2].message == "Started notebook execution."


def test_a_live_status_counts_until_now() -> None:
    phases = timeline(START, [status_event(1, "STARTING", 1)], now=START + timedelta(seconds=4))
    assert phases[-1].seconds == 3


def test_a_message_chain_comes_apart_outermost_first() -> None:
    message = chain("Failed to start environment", "Unable to stage", "disk full")
    assert message_chain(message) == ["Failed to start environment", "Unable to stage", "disk full"]
    assert message_chain("All 5 paragraphs ran") == ["All 5 paragraphs ran"]
    assert message_chain("odd ] text [ here]") == ["odd ] text [ here]"]
    assert message_chain("") == []


def test_durations_sizes_and_progress_read_as_words() -> None:
    assert [duration(s) for s in (0.057, 2.61, 185, 7440)] == [
        "57 ms",
        "2.6 s",
        "3 min 05 s",
        "2 h 04 min",
    ]
    assert [size(n) for n in (912, 4300, 1_572_864)] == ["912 B", "4.2 KiB", "1.5 MiB"]
    progress = {"unit": "paragraph", "current": 2, "total": 5, "title": "Summarise"}
    assert progress_text(progress) == "paragraph 2 of 5: Summarise"
    assert progress_text(None) == ""


def test_times_read_in_utc_to_the_second_from_records_and_iso_text() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    assert when(moment) == "2026-03-01 12:30:05 UTC"
    assert when("2026-03-01T13:30:05.123456+01:00") == "2026-03-01 12:30:05 UTC"
    assert when("not a time") == "not a time" and when(None) == ""
