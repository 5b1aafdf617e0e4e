"""The claim: which waiting job starts next, fairly, and the transaction that starts it.

Queues are configurations (a configuration belongs to one tenant). A claim looks at the
head of each queue — its oldest job that may start now (a retried job waits out its
back-off) — and takes them in the fair order: tenants with fewer live jobs first, then
the oldest head. One tenant's thousand waiting jobs are one head among the others, so
another tenant's next job starts at the next free slot. A head whose tenant is at its
cap on live jobs, or whose configuration has no free environment slot, waits with a
message saying so (`whenBusy: fail` fails it instead); the others are not held back.

The unique (configuration, slot) pair makes `maxEnvironments` a database rule; the
tenant's row lock, taken before its live jobs are counted, makes its cap one too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from jobmanager.domain.messages import chain
from jobmanager.domain.statuses import ACTIVE, JobStatus
from jobmanager.store.attempts import open_attempt_in
from jobmanager.store.jobs import JobRecord, to_record, transition_in
from jobmanager.store.tables import Configuration, EnvironmentSlot, Job, Tenant
from jobmanager.store.types import utcnow

BUSY = "An environment has already been started for the configuration"
HEADS_PER_CLAIM = 50


@dataclass(frozen=True)
class Claim:
    """A job this worker now runs, and the environment slot it holds."""

    job: JobRecord
    environment_id: str


def claim_in(
    session: Session, worker_id: str, job_id: str | None, default_cap: int | None
) -> Claim | None:
    """Claim the first job of the fair order (or the given one) that can start now."""
    now = utcnow()
    capped: set[str] = set()
    uncapped: set[str] = set()  # tenants found below their cap in this claim
    for job in _candidates(session, job_id, now):
        if job.tenant_id in capped:
            continue
        configuration = session.get(Configuration, job.configuration_id)
        if configuration is None:
            transition_in(
                session,
                job.id,
                [JobStatus.SUBMITTED],
                JobStatus.FAILED,
                message=chain("Failed to start environment", "The configuration was deleted"),
            )
            continue
        cap = (
            None if job.tenant_id in uncapped else _tenant_cap(session, job.tenant_id, default_cap)
        )
        if cap is not None:
            capped.add(job.tenant_id)
            _note(session, job, f"Waiting: the tenant's {cap} live jobs are its limit.")
            continue
        uncapped.add(job.tenant_id)
        slot = _free_slot(session, configuration)
        if slot is None:
            _wait_or_fail(session, job, configuration)
            continue
        claimed = _take(session, job, configuration, slot, worker_id)
        if claimed is not None:
            return claimed
    return None


def _candidates(session: Session, job_id: str | None, now: datetime) -> list[Job]:
    due = [
        Job.status == JobStatus.SUBMITTED.value,
        or_(Job.not_before.is_(None), Job.not_before <= now),
    ]
    if job_id is not None:
        return list(session.scalars(select(Job).where(Job.id == job_id, *due)))
    ranked = (
        select(
            Job.id,
            Job.tenant_id,
            Job.creation_date,
            func.row_number()
            .over(partition_by=Job.configuration_id, order_by=(Job.creation_date, Job.id))
            .label("place"),
        )
        .where(*due)
        .subquery()
    )
    live = (
        select(Job.tenant_id, func.count().label("live"))
        .where(Job.status.in_([s.value for s in ACTIVE]))
        .group_by(Job.tenant_id)
        .subquery()
    )
    heads = list(
        session.scalars(
            select(ranked.c.id)
            .outerjoin(live, live.c.tenant_id == ranked.c.tenant_id)
            .where(ranked.c.place == 1)
            .order_by(func.coalesce(live.c.live, 0), ranked.c.creation_date, ranked.c.id)
            .limit(HEADS_PER_CLAIM)
        )
    )
    rows = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(heads)))}
    return [rows[head] for head in heads if head in rows]


def _tenant_cap(session: Session, tenant_id: str, default_cap: int | None) -> int | None:
    """The tenant's cap when its live jobs reach it (None: it may start one more).

    The tenant's row is locked first, so two replicas never both start its last one."""
    cap = session.scalar(select(Tenant.max_live_jobs).where(Tenant.id == tenant_id))
    cap = default_cap if cap is None else cap
    if cap is None:
        return None
    session.scalar(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    live = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.tenant_id == tenant_id, Job.status.in_([s.value for s in ACTIVE]))
    )
    return cap if int(live or 0) >= cap else None


def _free_slot(session: Session, configuration: Configuration) -> int | None:
    used = set(
        session.scalars(
            select(EnvironmentSlot.slot).where(EnvironmentSlot.configuration_id == configuration.id)
        )
    )
    return next((n for n in range(configuration.max_environments) if n not in used), None)


def _wait_or_fail(session: Session, job: Job, configuration: Configuration) -> None:
    if configuration.when_busy == "fail":
        transition_in(
            session,
            job.id,
            [JobStatus.SUBMITTED],
            JobStatus.FAILED,
            message=chain("Failed to start environment", BUSY),
        )
        return
    _note(
        session,
        job,
        f"Waiting for an environment: all {configuration.max_environments} of configuration "
        f"{configuration.name!r} are in use.",
    )


def _note(session: Session, job: Job, waiting: str) -> None:
    """Say on a waiting job why it waits (written only when the reason changes)."""
    if job.message != waiting:
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.SUBMITTED.value)
            .values(message=waiting)
        )


def _take(
    session: Session, job: Job, configuration: Configuration, slot: int, worker_id: str
) -> Claim | None:
    environment_id = str(uuid.uuid4())
    now = utcnow()
    session.add(
        EnvironmentSlot(
            id=environment_id,
            tenant_id=job.tenant_id,
            configuration_id=configuration.id,
            slot=slot,
            job_id=job.id,
            status="STARTING",
            worker_id=worker_id,
        )
    )
    session.flush()
    values: dict[str, Any] = {
        "message": "Starting the environment and staging the input folder.",
        "environment_id": environment_id,
        "start_date": now,
        "worker_id": worker_id,
        "heartbeat_at": now,
    }
    if not transition_in(session, job.id, [JobStatus.SUBMITTED], JobStatus.STARTING, **values):
        session.execute(delete(EnvironmentSlot).where(EnvironmentSlot.id == environment_id))
        return None
    open_attempt_in(session, job.id, job.attempt, worker_id)
    session.refresh(job)
    return Claim(to_record(job), environment_id)
