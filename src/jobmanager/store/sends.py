"""Dispatch messages sent once, re-sent only when provably lost (cluster dispatch).

A job's message is sent when it is inserted (`jobs.dispatched_at` says when). A message
is a turn, not an order (`Worker.take_turn`), and a worker that ran a job goes on
claiming from the database while a job can start, so the broker only has to wake
workers. The sweep every API replica runs re-sends a message only for jobs that could
start now (their configuration has a free environment slot), whose last send is older
than the re-dispatch time (or failed), and no more of them than the startable jobs the
messages already queued do not cover. One conditional UPDATE claims those jobs, so of
two replicas sweeping at once each job is re-sent by one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Subquery, func, or_, select, update

from jobmanager.domain.statuses import JobStatus
from jobmanager.store.db import Database
from jobmanager.store.tables import Configuration, EnvironmentSlot, Job
from jobmanager.store.types import utcnow


class SendRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def resend(self, sent_before: datetime, queued: int) -> list[str]:
        """Claim the jobs to send a message for again: startable now, last sent before
        `sent_before` (or never), at most the startable jobs minus the `queued` messages.
        Their `dispatched_at` is now; the caller sends them (`unsent` if that fails)."""
        now = utcnow()
        startable = _startable(now)
        with self.db.transaction() as session:
            count = int(session.scalar(select(func.count()).select_from(startable)) or 0)
            wanted = count - max(0, queued)
            if wanted <= 0:
                return []
            stale = or_(Job.dispatched_at.is_(None), Job.dispatched_at < sent_before)
            lost = (
                select(startable.c.id)
                .where(
                    or_(
                        startable.c.dispatched_at.is_(None), startable.c.dispatched_at < sent_before
                    )
                )
                .order_by(startable.c.place, startable.c.creation_date)
                .limit(wanted)
            )
            claimed = session.execute(
                update(Job)
                .where(Job.id.in_(lost), Job.status == JobStatus.SUBMITTED.value, stale)
                .values(dispatched_at=now)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            return list(claimed.scalars())

    def unsent(self, job_ids: list[str]) -> None:
        """Their message could not be sent: the next sweep sends it, without waiting."""
        if not job_ids:
            return
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.status == JobStatus.SUBMITTED.value)
                .values(dispatched_at=None)
                .execution_options(synchronize_session=False)
            )


def _startable(now: datetime) -> Subquery:
    """Waiting jobs that could start now: due, and within the free environment slots of
    their configuration (the first of its queue take them). A tenant's cap is not looked
    at: a message for a capped tenant's job is a turn another tenant's job may use."""
    ranked = (
        select(
            Job.id,
            Job.configuration_id,
            Job.creation_date,
            Job.dispatched_at,
            func.row_number()
            .over(partition_by=Job.configuration_id, order_by=(Job.creation_date, Job.id))
            .label("place"),
        )
        .where(
            Job.status == JobStatus.SUBMITTED.value,
            or_(Job.not_before.is_(None), Job.not_before <= now),
        )
        .subquery()
    )
    used = (
        select(EnvironmentSlot.configuration_id, func.count().label("used"))
        .group_by(EnvironmentSlot.configuration_id)
        .subquery()
    )
    return (
        select(ranked)
        .join(Configuration, Configuration.id == ranked.c.configuration_id)
        .outerjoin(used, used.c.configuration_id == ranked.c.configuration_id)
        .where(ranked.c.place <= Configuration.max_environments - func.coalesce(used.c.used, 0))
        .subquery()
    )
