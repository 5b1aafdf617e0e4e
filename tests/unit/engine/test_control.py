"""Stop requests and deadlines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from jobmanager.engine.control import Control, StopReason
from jobmanager.engine.result import Failure, Outcome, ended_result, finished_result


def test_nothing_to_stop() -> None:
    assert Control().reason() is None
    assert Control().wait(0.1) == 0.1


def test_stop_event_and_callable() -> None:
    event = threading.Event()
    control = Control(stop=event)
    assert control.reason() is None
    event.set()
    assert control.reason() is StopReason.STOPPED
    assert Control(stop=lambda: True).reason() is StopReason.STOPPED


def test_deadline() -> None:
    soon = Control(deadline=time.monotonic() + 0.05)
    assert soon.reason() is None
    assert 0 < soon.wait(1.0) <= 0.05
    past = Control(deadline=time.monotonic() - 1)
    assert past.reason() is StopReason.TIMED_OUT
    assert past.wait(0.1) == 0.1  # no busy loop while a grace period runs out


def test_stop_wins_over_deadline() -> None:
    control = Control(stop=lambda: True, deadline=time.monotonic() - 1)
    assert control.reason() is StopReason.STOPPED


def test_result_messages() -> None:
    path = Path("n.zpln")
    assert finished_result([], 1, "paragraphs", path).message == "The paragraph ran"
    assert finished_result([], 3, "cells", path).message == "All 3 cells ran"
    failures = [Failure(2, 'paragraph 2 of 3 "Load"', "KeyError: 'x'"), Failure(3, "c", "d")]
    failed = finished_result(failures, 3, "paragraphs", path)
    assert failed.outcome is Outcome.FAILED
    assert failed.message == (
        "Paragraph 2 of 3 \"Load\" failed: KeyError: 'x' (paragraphs 3 failed too)"
    )
    ended = ended_result(StopReason.TIMED_OUT, "during cell 1 of 1", path)
    assert (ended.outcome, ended.message) == (
        Outcome.TIMED_OUT,
        "The maximum execution time was exceeded during cell 1 of 1",
    )
