"""Stop requests and deadlines."""

from __future__ import annotations

import threading
import time

from jobmanager.engine.control import Control, StopReason


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
