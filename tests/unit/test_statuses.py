"""The job state machine."""

from __future__ import annotations

import itertools

from jobmanager.domain.statuses import (
    ALLOWED,
    FINAL,
    JobStatus,
    RunEnd,
    can_transition,
    final_status,
    sources_of,
)
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.engine import Outcome


def test_final_statuses_never_change() -> None:
    for status in FINAL:
        assert ALLOWED[status] == frozenset()


def test_every_non_final_status_can_end() -> None:
    for status in set(JobStatus) - FINAL:
        assert ALLOWED[status] & (
            FINAL | {JobStatus.STOPPING, JobStatus.STARTING, JobStatus.RUNNING}
        )


def test_the_normal_path_and_the_stop_path() -> None:
    path = [JobStatus.SUBMITTED, JobStatus.STARTING, JobStatus.RUNNING, JobStatus.SUCCEEDED]
    assert all(can_transition(a, b) for a, b in itertools.pairwise(path))
    assert can_transition(JobStatus.RUNNING, JobStatus.STOPPING)
    assert can_transition(JobStatus.STOPPING, JobStatus.STOPPED)
    assert can_transition(JobStatus.SUBMITTED, JobStatus.STOPPED)
    assert not can_transition(JobStatus.STOPPED, JobStatus.RUNNING)
    assert not can_transition(JobStatus.SUBMITTED, JobStatus.SUCCEEDED)


def test_sources_of_stopped() -> None:
    assert sources_of(JobStatus.STOPPED) == {JobStatus.SUBMITTED, JobStatus.STOPPING}


def test_how_a_run_ends_decides_the_final_status() -> None:
    assert final_status(RunEnd.SUCCEEDED, stop_seen=False) is JobStatus.SUCCEEDED
    assert final_status(RunEnd.SUCCEEDED, stop_seen=True) is JobStatus.STOPPED
    assert final_status(RunEnd.STOPPED, stop_seen=True) is JobStatus.STOPPED
    for end in (RunEnd.FAILED, RunEnd.TIMED_OUT, RunEnd.LIMIT_EXCEEDED):
        assert final_status(end, stop_seen=False) is JobStatus.FAILED
        assert final_status(end, stop_seen=True) is JobStatus.FAILED


def test_run_ends_are_the_engine_outcomes() -> None:
    assert {end.value for end in RunEnd} == {outcome.value for outcome in Outcome}


def test_worker_ids_say_host_and_process() -> None:
    made = WorkerId.new("node-1", 4242)
    assert WorkerId.parse(str(made)) == made
    assert str(made).startswith(WorkerId.host_prefix("node-1"))
    assert WorkerId.parse("celery@host") is None
    assert WorkerId.parse("host:notapid:x") is None
