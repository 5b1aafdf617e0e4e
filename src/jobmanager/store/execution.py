"""What workers, the reaper and the retention task do to jobs: claim, heartbeat, reap, purge.

A claim is one transaction (store/claims.py): pick the next job in the fair order, take
a free environment slot of its configuration and move it `SUBMITTED -> STARTING` by
compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from jobmanager.domain.statuses import ACTIVE, FINAL, JobStatus
from jobmanager.store.blobs import BlobStore
from jobmanager.store.claims import Claim, claim_in
from jobmanager.store.contents import delete_blobs
from jobmanager.store.db import Database
from jobmanager.store.jobs import JobRecord, to_record
from jobmanager.store.outputs import forget_outputs_in
from jobmanager.store.tables import EnvironmentSlot, Job
from jobmanager.store.types import utcnow

__all__ = ["Claim", "ExecutionRepository", "SlotRecord"]
_PURGE_BATCH = 500  # jobs per transaction


@dataclass(frozen=True)
class SlotRecord:
    id: str
    tenant_id: str
    configuration_id: str
    job_id: str
    status: str
    worker_id: str
    workdir: str
    marker: str
    created_at: datetime


class ExecutionRepository:
    def __init__(
        self, db: Database, blobs: BlobStore, tenant_max_live_jobs: int | None = None
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.tenant_max_live_jobs = tenant_max_live_jobs

    def claim_next(self, worker_id: str) -> Claim | None:
        """The first waiting job of the fair order (store/claims.py) that can start now,
        claimed for `worker_id`, or None."""
        return self._claim(worker_id, job_id=None)

    def claim(self, job_id: str, worker_id: str) -> Claim | None:
        """Claim one given job (a dispatch message named it); None if taken or must wait."""
        return self._claim(worker_id, job_id=job_id)

    def _claim(self, worker_id: str, job_id: str | None) -> Claim | None:
        if job_id is None and not self._any_waiting():
            return None  # an idle slot's look costs a read, not a write transaction
        if not self.db.space.room_for("environments", "database"):
            return None  # no job starts on a full disk: it waits SUBMITTED for room
        for _ in range(3):  # another replica may take the same slot first
            try:
                with self.db.transaction() as session:
                    return claim_in(session, worker_id, job_id, self.tenant_max_live_jobs)
            except IntegrityError:
                continue
        return None

    def _any_waiting(self) -> bool:
        waiting = select(Job.id).where(Job.status == JobStatus.SUBMITTED.value).limit(1)
        with self.db.reading() as session:
            return session.scalar(waiting) is not None

    def attach_environment(self, environment_id: str, workdir: str, marker: str) -> None:
        """Record where the environment lives, so a reaper can salvage and clean it."""
        with self.db.transaction() as session:
            session.execute(
                update(EnvironmentSlot)
                .where(EnvironmentSlot.id == environment_id)
                .values(workdir=workdir, marker=marker, status="RUNNING")
            )

    def release_environment(self, environment_id: str) -> None:
        with self.db.transaction(essential=True) as session:
            session.execute(delete(EnvironmentSlot).where(EnvironmentSlot.id == environment_id))

    def environment_of(self, job_id: str) -> SlotRecord | None:
        with self.db.reading() as session:
            slot = session.scalar(select(EnvironmentSlot).where(EnvironmentSlot.job_id == job_id))
            return _slot_record(slot) if slot is not None else None

    def environments(self, worker_prefix: str | None = None) -> list[SlotRecord]:
        query = select(EnvironmentSlot).order_by(EnvironmentSlot.created_at)
        if worker_prefix is not None:
            query = query.where(EnvironmentSlot.worker_id.startswith(worker_prefix))
        with self.db.reading() as session:
            return [_slot_record(slot) for slot in session.scalars(query)]

    def heartbeat(self, worker_id: str) -> None:
        """Mark every live job of this worker as alive now."""
        with self.db.transaction(essential=True) as session:
            session.execute(
                update(Job)
                .where(Job.worker_id == worker_id, Job.status.in_([s.value for s in ACTIVE]))
                .values(heartbeat_at=utcnow())
            )

    def stopping_jobs(self, worker_id: str) -> list[str]:
        """Ids of this worker's jobs that were asked to stop."""
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(Job.id).where(
                        Job.worker_id == worker_id, Job.status == JobStatus.STOPPING.value
                    )
                )
            )

    def taken_over(self, worker_id: str, job_ids: list[str]) -> list[str]:
        """Those of `job_ids` that are no longer this worker's (a reaper took them over)."""
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(Job.id).where(Job.id.in_(job_ids), Job.worker_id != worker_id)
                )
            )

    def stale_jobs(self, heartbeat_before: datetime) -> list[JobRecord]:
        """Live jobs whose worker has not sent a heartbeat since `heartbeat_before`."""
        with self.db.reading() as session:
            jobs = session.scalars(
                select(Job).where(
                    Job.status.in_([s.value for s in ACTIVE]),
                    Job.heartbeat_at < heartbeat_before,
                )
            )
            return [to_record(job) for job in jobs]

    def live_jobs_of_workers(self, worker_prefix: str) -> list[JobRecord]:
        with self.db.reading() as session:
            jobs = session.scalars(
                select(Job).where(
                    Job.status.in_([s.value for s in ACTIVE]),
                    Job.worker_id.startswith(worker_prefix),
                )
            )
            return [to_record(job) for job in jobs]

    def take_over(self, job: JobRecord, reaper_id: str) -> bool:
        """Become the job's worker if nobody else did since `job` was read."""
        with self.db.transaction(essential=True) as session:
            result = session.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    Job.status == job.status.value,
                    Job.worker_id == job.worker_id,
                )
                .values(worker_id=reaper_id, heartbeat_at=utcnow())
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def purge_final(self, ended_before: datetime) -> int:
        """Delete jobs that ended before the cutoff, with their events and outputs, a
        batch per transaction; the outputs' blobs nothing else refers to go after each
        commit. Return how many jobs."""
        purged = 0
        while True:
            with self.db.transaction(essential=True) as session:
                # Locked: an output being saved for one of them (a worker that was only
                # thought dead) commits before, or finds the job gone.
                ended = (Job.status.in_([s.value for s in FINAL]), Job.end_date < ended_before)
                query = select(Job.id).where(*ended).limit(_PURGE_BATCH).with_for_update()
                ids = list(session.scalars(query))
                gone = forget_outputs_in(session, ids)
                session.execute(delete(Job).where(Job.id.in_(ids)))
            delete_blobs(self.blobs, gone)
            purged += len(ids)
            if len(ids) < _PURGE_BATCH:
                return purged


def _slot_record(slot: EnvironmentSlot) -> SlotRecord:
    return SlotRecord(
        slot.id,
        slot.tenant_id,
        slot.configuration_id,
        slot.job_id,
        slot.status,
        slot.worker_id,
        slot.workdir,
        slot.marker,
        slot.created_at,
    )
