"""Stop requests and deadlines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from jobmanager.engine.control import Control, Escalation, ExecStatus, Outcome
from jobmanager.engine.result import (
    Failure,
    RunResult,
    ended_result,
    finished_result,
    with_breach,
)


def test_nothing_to_stop() -> None:
    assert Control().reason() is None
    assert Control().wait(0.1) == 0.1


def test_stop_event_and_callable() -> None:
    event = threading.Event()
    control = Control(stop=event)
    assert control.reason() is None
    event.set()
    assert control.reason() is Outcome.STOPPED
    assert Control(stop=lambda: True).reason() is Outcome.STOPPED


def test_deadline() -> None:
    soon = Control(deadline=time.monotonic() + 0.05)
    assert soon.reason() is None
    assert 0 < soon.wait(1.0) <= 0.05
    past = Control(deadline=time.monotonic() - 1)
    assert past.reason() is Outcome.TIMED_OUT
    assert past.wait(0.1) == 0.1  # no busy loop while a grace period runs out


def test_stop_wins_over_deadline() -> None:
    control = Control(stop=lambda: True, deadline=time.monotonic() - 1)
    assert control.reason() is Outcome.STOPPED


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
    ended = ended_result(Control(deadline=0), "during cell 1 of 1", path)
    assert (ended.outcome, ended.message) == (
        Outcome.TIMED_OUT,
        "The maximum execution time was exceeded during cell 1 of 1",
    )


def test_a_limit_hit_ends_the_run_naming_the_limit() -> None:
    path = Path("n.zpln")
    control = Control(breach=lambda: "Memory limit of 512 MiB reached")
    assert control.reason() is Outcome.LIMIT_EXCEEDED and control.limit_hit()
    ended = ended_result(control, "during paragraph 2 of 3", path)
    assert (ended.outcome, ended.message) == (
        Outcome.LIMIT_EXCEEDED,
        "Memory limit of 512 MiB reached during paragraph 2 of 3",
    )
    failed = RunResult(Outcome.FAILED, "Paragraph 2 of 3 failed: the kernel died", path)
    named = with_breach(failed, "Memory limit of 512 MiB reached")
    assert named.outcome is Outcome.LIMIT_EXCEEDED
    assert named.message.startswith("Memory limit of 512 MiB reached (Paragraph 2 of 3")
    stopped = RunResult(Outcome.STOPPED, "Stopped during paragraph 2 of 3", path)
    assert with_breach(stopped, "Disk limit of 1 MiB reached") is stopped
    assert with_breach(failed, None) is failed


def test_escalation_interrupts_once_then_kills_after_the_grace() -> None:
    done: list[str] = []
    stop = threading.Event()
    ending = Escalation(
        Control(stop=stop, grace=0.05),
        lambda: done.append("interrupt"),
        lambda: done.append("kill"),
    )
    assert not ending.due() and done == []
    stop.set()
    assert not ending.due() and done == ["interrupt"]
    assert not ending.due() and done == ["interrupt"]
    time.sleep(0.06)
    assert ending.due() and done == ["interrupt", "kill"]
    assert ending.status(ExecStatus.OK) is ExecStatus.UNRESPONSIVE


def test_escalation_of_an_execution_that_stopped_when_interrupted() -> None:
    ending = Escalation(Control(stop=lambda: True, grace=60), lambda: None, lambda: None)
    assert not ending.due()
    assert ending.status(ExecStatus.ERROR) is ExecStatus.INTERRUPTED
    untouched = Escalation(Control(), lambda: None, lambda: None)
    assert not untouched.due()
    assert untouched.status(ExecStatus.ERROR) is ExecStatus.ERROR
