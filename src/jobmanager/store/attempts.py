"""A job's attempts (an extension): each run of the job, with its worker, times and end.

An attempt is opened by the claim that starts it and closed by the status move that ends
it — a final status, or the move back to `SUBMITTED` that retries the job — inside that
move's transaction, so the attempts never disagree with the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobmanager.store.tables import JobAttempt
from jobmanager.store.types import utcnow


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    worker_id: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    message: str


def open_attempt_in(session: Session, job_id: str, number: int, worker_id: str) -> None:
    session.add(JobAttempt(job_id=job_id, number=number, worker_id=worker_id, started_at=utcnow()))


def close_attempt_in(session: Session, job_id: str, outcome: str, message: str) -> None:
    """End the job's open attempt, if it has one (a job stopped while waiting has none)."""
    session.execute(
        update(JobAttempt)
        .where(JobAttempt.job_id == job_id, JobAttempt.ended_at.is_(None))
        .values(ended_at=utcnow(), outcome=outcome, message=message)
    )


def attempts_in(session: Session, job_id: str) -> tuple[AttemptRecord, ...]:
    rows = session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.number)
    )
    return tuple(
        AttemptRecord(r.number, r.worker_id, r.started_at, r.ended_at, r.outcome, r.message)
        for r in rows
    )
