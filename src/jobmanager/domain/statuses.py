"""Job statuses, the transitions allowed between them, and the final set.

Every status change in the service is checked against :data:`ALLOWED`; the
store's one compare-and-set function is the only writer of a job's status.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


FINAL: frozenset[JobStatus] = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED})
# The statuses of a job that a repair can take up (POST /jobs/{id}/repair).
REPAIRABLE: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.STOPPED})
ACTIVE: frozenset[JobStatus] = frozenset(
    {JobStatus.STARTING, JobStatus.RUNNING, JobStatus.STOPPING}
)

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    # A job waiting to start may be claimed, stopped at once, or fail to start
    # (for example when its configuration is busy and says `whenBusy: fail`).
    JobStatus.SUBMITTED: frozenset({JobStatus.STARTING, JobStatus.STOPPED, JobStatus.FAILED}),
    # A live job whose attempt failed goes back to wait when its retry policy says so
    # (domain/retries.py): the next attempt is claimed like a new job.
    JobStatus.STARTING: frozenset(
        {JobStatus.RUNNING, JobStatus.STOPPING, JobStatus.FAILED, JobStatus.SUBMITTED}
    ),
    JobStatus.RUNNING: frozenset(
        {JobStatus.STOPPING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SUBMITTED}
    ),
    JobStatus.STOPPING: frozenset({JobStatus.STOPPED, JobStatus.FAILED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.STOPPED: frozenset(),
}


# The statuses from which a failed attempt is retried (a job being stopped never is).
RETRYABLE: frozenset[JobStatus] = frozenset({JobStatus.STARTING, JobStatus.RUNNING})


def is_final(status: JobStatus) -> bool:
    return status in FINAL


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    return target in ALLOWED[current]


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The statuses from which `target` may be reached."""
    return frozenset(source for source, targets in ALLOWED.items() if target in targets)


class ScheduleStatus(StrEnum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
