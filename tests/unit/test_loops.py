"""`Every`: background rounds that survive a failing round and stop when asked, and say a
database outage once when it starts and once when it ends (`Outage`)."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy.exc import OperationalError

from jobmanager.common.loops import Every, Outage
from jobmanager.store.outages import database_away


def test_rounds_go_on_after_a_failing_one_and_stop_when_asked() -> None:
    calls: list[int] = []
    three = threading.Event()

    def round_() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("one bad round")
        if len(calls) == 3:
            three.set()

    loop = Every("test-loop", 0.01, round_)
    loop.start()
    assert three.wait(5)
    loop.stop()
    count = len(calls)
    three.wait(0.05)
    assert len(calls) == count


def test_a_round_says_when_it_wants_to_run_again() -> None:
    waits: list[float] = []
    again = threading.Event()

    def round_() -> float:
        waits.append(0.0)
        if len(waits) == 2:
            again.set()
        return 0.0  # at once, though the loop's own pace is an hour

    loop = Every("eager-loop", 3600, round_)
    loop.start()
    assert again.wait(5)
    loop.stop()


def away() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_an_outage_is_said_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    outage = Outage("reaper", database_away, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="jobmanager.loops"):
        assert outage.failed(away())
        now[0] = 112.5
        assert outage.failed(away())  # the same outage: nothing more said
        outage.succeeded()
        outage.succeeded()  # no outage: nothing said
    assert [r.getMessage() for r in caplog.records] == [
        "reaper: the database is away (connection refused); waiting for it",
        "reaper: the database is back after 12.5 s",
    ]
    assert not outage.failed(RuntimeError("a bug"))  # not an outage: the loop says it


def test_a_loop_through_an_outage_logs_two_lines_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    back = threading.Event()

    def round_() -> None:
        rounds.append(1)
        if len(rounds) <= 5:
            raise away()
        back.set()

    loop = Every("sweeper", 0.01, round_, away=database_away)
    with caplog.at_level(logging.INFO, logger="jobmanager.loops"):
        loop.start()
        assert back.wait(5)
        loop.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and not any(r.exc_info for r in caplog.records), messages
    assert messages[0].startswith("sweeper: the database is away")
    assert messages[1].startswith("sweeper: the database is back after")
