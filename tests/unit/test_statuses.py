"""The job state machine."""

from __future__ import annotations

import itertools

from jobmanager.domain.statuses import (
    ALLOWED,
    FINAL,
    JobStatus,
    can_transition,
    sources_of,
)
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.engine import Outcome
from jobmanager.jobrun.worker import END_OF_RUN


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


def test_every_engine_outcome_has_its_attempt_end() -> None:
    assert set(END_OF_RUN) == set(Outcome)


def test_worker_ids_say_host_and_process() -> None:
    made = WorkerId.new("node-1", 4242)
    assert WorkerId.parse(str(made)) == made
    assert str(made).startswith(WorkerId.host_prefix("node-1"))
    assert WorkerId.parse("celery@host") is None
    assert WorkerId.parse("host:notapid:x") is None
