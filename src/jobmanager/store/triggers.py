"""Data-arrival triggers (an extension): arrivals are recorded with the file, fired once.

`record_arrival` runs inside the transaction that writes a file (upload, replacement,
rename or move): for each running schedule watching the file's folder whose pattern
matches, it adds a `trigger_arrivals` row. A file is never written without its
arrivals, so none is missed, whichever replica takes the upload.

`TriggerRepository.fire` turns a schedule's settled arrivals into one firing and its
job in one transaction: it inserts the firing (the unique (schedule, fire time) pair,
the fire time being the newest arrival's) and deletes exactly the arrivals it read.
A replica that finds the firing taken, or fewer arrivals than it read, fired nothing:
the transaction rolls back, so each arrival fires exactly once across replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobmanager.common.wakeups import Topic, send
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.statuses import ScheduleStatus
from jobmanager.domain.triggers import Trigger
from jobmanager.store.db import Database
from jobmanager.store.jobs import JobRepository
from jobmanager.store.schedules import (
    Outcome,
    prune_firings,
    to_record,
    trigger_of,
    unfinished_job,
)
from jobmanager.store.tables import DataEntry, Schedule, ScheduleFiring, TriggerArrival
from jobmanager.store.types import stamp, utcnow


@dataclass(frozen=True)
class PendingTrigger:
    """A running data-arrival schedule with arrivals not fired yet."""

    schedule_id: str
    trigger: Trigger
    newest_arrival: datetime


class _Lost(Exception):
    """Another replica fired these arrivals first."""


def record_arrival(session: Session, entry: DataEntry) -> None:
    """Inside the transaction that wrote `entry` (a file): one arrival per running
    schedule watching its folder whose pattern matches its name."""
    watching = session.scalars(
        select(Schedule).where(
            Schedule.trigger_folder_id == entry.parent_id,
            Schedule.tenant_id == entry.tenant_id,
            Schedule.status == ScheduleStatus.RUNNING.value,
        )
    ).all()
    now = utcnow()
    for schedule in watching:
        trigger = trigger_of(schedule)
        if trigger is not None and trigger.matches(entry.name):
            session.add(
                TriggerArrival(
                    schedule_id=schedule.id,
                    file_id=entry.id,
                    name=entry.name,
                    size_in_bytes=entry.size_in_bytes,
                    arrived_at=now,
                )
            )
            send(session, Topic.SCHEDULES)


class TriggerRepository:
    def __init__(self, db: Database, jobs: JobRepository) -> None:
        self.db = db
        self.jobs = jobs

    def pending(self) -> list[PendingTrigger]:
        """Every running schedule with unfired arrivals, and its newest arrival's time."""
        query = (
            select(Schedule, func.max(TriggerArrival.arrived_at))
            .join(TriggerArrival, TriggerArrival.schedule_id == Schedule.id)
            .where(Schedule.status == ScheduleStatus.RUNNING.value)
            .group_by(Schedule.id)
        )
        with self.db.reading() as session:
            found = []
            for row, newest in session.execute(query):
                trigger = trigger_of(row)
                if trigger is not None:
                    found.append(PendingTrigger(row.id, trigger, newest))
            return found

    def fire(self, schedule_id: str) -> list[str]:
        """Fire the schedule for its arrivals; the ids of the jobs created (none when
        another replica fired them, or the schedule's last job still runs and it says
        `overlap: skip`: then the arrivals wait for that job to end)."""
        try:
            with self.db.transaction() as session:
                return self._fire_in(session, schedule_id)
        except (_Lost, IntegrityError):
            return []

    def _fire_in(self, session: Session, schedule_id: str) -> list[str]:
        row = session.get(Schedule, schedule_id)
        if row is None or row.status != ScheduleStatus.RUNNING.value:
            return []
        spec = to_record(row)
        if spec.overlap == "skip" and unfinished_job(session, row.id) is not None:
            return []
        arrivals = session.scalars(
            select(TriggerArrival)
            .where(TriggerArrival.schedule_id == schedule_id)
            .order_by(TriggerArrival.arrived_at)
        ).all()
        if not arrivals:
            return []
        firing = ScheduleFiring(
            schedule_id=row.id,
            fire_time=arrivals[-1].arrived_at,
            outcome=Outcome.SKIPPED.value,
            reason="",
            files=_files(arrivals),
            created_at=utcnow(),
        )
        session.add(firing)
        session.flush()  # a second firing of the same arrivals stops here (IntegrityError)
        taken = session.execute(
            delete(TriggerArrival).where(TriggerArrival.id.in_([a.id for a in arrivals]))
        )
        if taken.rowcount != len(arrivals):  # type: ignore[attr-defined]
            raise _Lost
        try:
            job = self.jobs.insert(session, row.tenant_id, row.created_by, spec.job(row.id))
        except InvalidInput as error:
            firing.reason = f"the job's references no longer hold: {error.message}"
            return []
        firing.outcome, firing.job_id = Outcome.CREATED.value, job.id
        firing.reason = f"{len(firing.files)} file(s) arrived"
        session.flush()
        prune_firings(session, row.id)
        return [job.id]


def _files(arrivals: Sequence[TriggerArrival]) -> list[dict[str, Any]]:
    """The files that fired, once each (the latest arrival of a file counts), by name."""
    latest: dict[str, TriggerArrival] = {}
    for arrival in arrivals:
        latest[arrival.file_id] = arrival
    return [
        {
            "id": a.file_id,
            "name": a.name,
            "sizeInBytes": a.size_in_bytes,
            "arrivedAt": stamp(a.arrived_at),
        }
        for a in sorted(latest.values(), key=lambda a: a.name)
    ]
