"""Counts for the metrics, read at scrape time: they hold across replicas and restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from jobmanager.domain.statuses import FINAL, JobStatus
from jobmanager.store.db import Database
from jobmanager.store.tables import EnvironmentSlot, Job, Member, Tenant


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def jobs_by_tenant_and_status(self) -> list[tuple[str, str, int]]:
        """(tenant name, status, jobs) for every pair that has jobs."""
        query = (
            select(Tenant.name, Job.status, func.count())
            .join(Tenant, Tenant.id == Job.tenant_id)
            .group_by(Tenant.name, Job.status)
        )
        with self.db.reading() as session:
            return [(name, status, count) for name, status, count in session.execute(query)]

    def unfinished_jobs(self) -> int:
        """Jobs not final yet, waiting ones included: work a service still has to do."""
        query = select(func.count()).where(Job.status.not_in([s.value for s in FINAL]))
        with self.db.reading() as session:
            return int(session.scalar(query) or 0)

    def waiting_by_configuration(self) -> list[tuple[str, int]]:
        """(configuration id, jobs waiting to start) for every configuration with some."""
        query = (
            select(Job.configuration_id, func.count())
            .where(Job.status == JobStatus.SUBMITTED.value)
            .group_by(Job.configuration_id)
        )
        with self.db.reading() as session:
            return [(configuration, count) for configuration, count in session.execute(query)]

    def environments_by_configuration(self) -> list[tuple[str, int]]:
        """(configuration id, live environments running a job), on every replica."""
        query = select(EnvironmentSlot.configuration_id, func.count()).group_by(
            EnvironmentSlot.configuration_id
        )
        with self.db.reading() as session:
            return [(configuration, count) for configuration, count in session.execute(query)]

    def workers_alive(self, since: datetime) -> int:
        """Workers (`jobmanager worker` processes) seen at `since` or later."""
        query = select(func.count()).where(Member.kind == "worker", Member.seen_at >= since)
        with self.db.reading() as session:
            return int(session.scalar(query) or 0)
