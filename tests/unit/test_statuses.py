"""The job state machine."""

from __future__ import annotations

import itertools

from jobmanager.domain.statuses import ALLOWED, FINAL, JobStatus, can_transition, sources_of


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
