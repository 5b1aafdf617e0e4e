"""`Every`: background rounds that survive a failing round and stop when asked."""

from __future__ import annotations

import threading

from jobmanager.common.loops import Every


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
