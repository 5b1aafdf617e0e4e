"""Schedules (SPEC §1) and their firings.

A firing is one transaction (DESIGN invariant 7): a compare-and-set advances the
schedule's `next_fire_at` from the value the scheduler read, then each planned fire
time is inserted into `schedule_firings` under its unique (schedule, fire time)
pair together with the job it creates. Whichever replica wins the compare-and-set
fires; a loser changes nothing. A firing that cannot create its job (the previous
job still runs, or a reference no longer holds) is recorded as `skipped` with the
reason, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobmanager.common.wakeups import Topic, send
from jobmanager.domain import cron
from jobmanager.domain.errors import InvalidInput, NotFound
from jobmanager.domain.filter_fields import SCHEDULE_FILTER_FIELDS
from jobmanager.domain.filters import NO_FILTER, Filter
from jobmanager.domain.firings import DueSchedule, FiringPlan, Misfire
from jobmanager.domain.statuses import FINAL, ScheduleStatus
from jobmanager.domain.triggers import Trigger
from jobmanager.store.dataexchange_tree import ROOT_NAMES
from jobmanager.store.db import Database
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import JobRepository
from jobmanager.store.query import filter_clause, filter_columns, paged
from jobmanager.store.references import check_job_references
from jobmanager.store.tables import DataEntry, Job, Schedule, ScheduleFiring, TriggerArrival
from jobmanager.store.types import utcnow

Overlap = Literal["skip", "allow"]
# Firings kept per schedule, newest first. Exactly-once rests on the compare-and-set and
# on the unique rows of recent fire times; older rows are history and are pruned.
KEPT_FIRINGS = 1000


class Outcome(StrEnum):
    CREATED = "created"
    SKIPPED = "skipped"


FILTER_COLUMNS = filter_columns(Schedule, SCHEDULE_FILTER_FIELDS)


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """What a caller sets on a schedule; `schedule_string` and `timezone` already checked."""

    name: str
    model_id: str
    configuration_id: str
    input_folder_id: str
    output_folder_id: str
    max_execution_seconds: int
    schedule_string: str
    timezone: str = "UTC"
    misfire: Misfire = "once"
    overlap: Overlap = "skip"
    parameters: dict[str, Any] = field(default_factory=dict)
    trigger: Trigger | None = None  # fires on data arrival; `schedule_string` is then ""

    def job(self, schedule_id: str | None = None) -> JobSpec:
        """The job a firing creates (also what the references are checked with)."""
        return JobSpec(
            model_id=self.model_id,
            configuration_id=self.configuration_id,
            input_folder_id=self.input_folder_id,
            output_folder_id=self.output_folder_id,
            max_execution_seconds=self.max_execution_seconds,
            parameters=dict(self.parameters),
            schedule_id=schedule_id,
        )


@dataclass(frozen=True, kw_only=True)
class ScheduleRecord(ScheduleSpec):
    id: str
    tenant_id: str
    created_by: str
    status: ScheduleStatus
    creation_date: datetime
    next_fire_at: datetime | None


@dataclass(frozen=True)
class FiringRecord:
    id: str
    schedule_id: str
    fire_time: datetime
    outcome: Outcome
    job_id: str | None
    reason: str
    created_at: datetime
    files: list[dict[str, Any]]
    # The status of the job it made, when it made one (`list_firings` reads it).
    job_status: str | None = None


def to_record(row: Schedule) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        created_by=row.created_by,
        name=row.name,
        model_id=row.model_id,
        configuration_id=row.configuration_id,
        input_folder_id=row.input_folder_id,
        output_folder_id=row.output_folder_id,
        max_execution_seconds=row.max_execution_seconds,
        schedule_string=row.schedule_string,
        timezone=row.timezone,
        misfire=row.misfire,  # type: ignore[arg-type]
        overlap=row.overlap,  # type: ignore[arg-type]
        parameters=dict(row.parameters or {}),
        trigger=trigger_of(row),
        status=ScheduleStatus(row.status),
        creation_date=row.creation_date,
        next_fire_at=row.next_fire_at,
    )


def trigger_of(row: Schedule) -> Trigger | None:
    """The schedule's data-arrival trigger, if it has one."""
    if row.trigger_folder_id is None:
        return None
    return Trigger(
        folder_id=row.trigger_folder_id,
        pattern=row.trigger_pattern or "*",
        debounce_seconds=row.trigger_debounce_seconds or 0,
    )


def first_fire_after(spec: ScheduleSpec, now: datetime) -> datetime | None:
    """The schedule's first fire time after `now` (None for a data-arrival trigger: it has
    none); 400 when it never fires again."""
    if spec.trigger is not None:
        return None
    try:
        parsed = cron.parse(spec.schedule_string, spec.timezone)
    except cron.CronError as error:
        raise InvalidInput(f"scheduleString: {error}") from None
    first = parsed.next_after(now)
    if first is None:
        raise InvalidInput(f"scheduleString: {spec.schedule_string!r} never fires after now")
    return first


class ScheduleRepository:
    def __init__(self, db: Database, jobs: JobRepository) -> None:
        self.db = db
        self.jobs = jobs

    # ------------------------------------------------------------ the API's calls

    def create(self, tenant_id: str, created_by: str, spec: ScheduleSpec) -> ScheduleRecord:
        """Check the references as a job would, then store the schedule `RUNNING`."""
        with self.db.transaction() as session:
            check_job_references(session, tenant_id, spec.job())
            if spec.trigger is not None:
                check_watched_folder(session, tenant_id, spec.trigger.folder_id)
            now = utcnow()
            row = Schedule(
                tenant_id=tenant_id,
                created_by=created_by,
                name=spec.name,
                model_id=spec.model_id,
                configuration_id=spec.configuration_id,
                input_folder_id=spec.input_folder_id,
                output_folder_id=spec.output_folder_id,
                max_execution_seconds=spec.max_execution_seconds,
                schedule_string=spec.schedule_string,
                timezone=spec.timezone,
                misfire=spec.misfire,
                overlap=spec.overlap,
                parameters=dict(spec.parameters),
                status=ScheduleStatus.RUNNING.value,
                creation_date=now,
                next_fire_at=first_fire_after(spec, now),
            )
            if spec.trigger is not None:
                row.trigger_folder_id = spec.trigger.folder_id
                row.trigger_pattern = spec.trigger.pattern
                row.trigger_debounce_seconds = spec.trigger.debounce_seconds
            session.add(row)
            session.flush()
            send(session, Topic.SCHEDULES)
            return to_record(row)

    def get(self, tenant_id: str, schedule_id: str) -> ScheduleRecord:
        with self.db.reading() as session:
            return to_record(_owned(session, tenant_id, schedule_id))

    def list_page(
        self, tenant_id: str, *, offset: int, limit: int, flt: Filter = NO_FILTER
    ) -> tuple[list[ScheduleRecord], int]:
        """One page of the tenant's schedules, newest first, and how many match."""
        query: Select[Any] = (
            select(Schedule)
            .where(Schedule.tenant_id == tenant_id, filter_clause(flt, FILTER_COLUMNS))
            .order_by(Schedule.creation_date.desc(), Schedule.id.desc())
        )
        with self.db.reading() as session:
            rows, total = paged(session, query, offset, limit)
            return [to_record(row) for row in rows], total

    def delete(self, tenant_id: str, schedule_id: str) -> None:
        """Delete the schedule and its firings; the jobs it created remain."""
        with self.db.transaction(essential=True) as session:
            row = _owned(session, tenant_id, schedule_id)
            session.execute(delete(ScheduleFiring).where(ScheduleFiring.schedule_id == row.id))
            session.delete(row)

    def start(
        self, tenant_id: str, schedule_id: str, now: datetime | None = None
    ) -> ScheduleRecord:
        """`RUNNING` from `now` on: the time it was stopped is not caught up."""
        with self.db.transaction() as session:
            row = _owned(session, tenant_id, schedule_id)
            if row.status != ScheduleStatus.RUNNING:
                row.status = ScheduleStatus.RUNNING.value
                if row.trigger_folder_id is None:
                    parsed = cron.parse(row.schedule_string, row.timezone)
                    row.next_fire_at = parsed.next_after(now or utcnow())
                send(session, Topic.SCHEDULES)
            session.flush()
            return to_record(row)

    def stop(self, tenant_id: str, schedule_id: str) -> ScheduleRecord:
        """`STOPPED`: once this returns, the schedule creates no job until started again."""
        with self.db.transaction(essential=True) as session:
            row = _owned(session, tenant_id, schedule_id)
            row.status = ScheduleStatus.STOPPED.value
            row.next_fire_at = None
            forget_arrivals(session, row.id)
            session.flush()
            return to_record(row)

    def list_firings(
        self, tenant_id: str, schedule_id: str, *, offset: int, limit: int
    ) -> tuple[list[FiringRecord], int]:
        """The schedule's firings, newest fire time first, each with its job's status."""
        query: Select[Any] = (
            select(ScheduleFiring)
            .where(ScheduleFiring.schedule_id == schedule_id)
            .order_by(ScheduleFiring.fire_time.desc())
        )
        with self.db.reading() as session:
            _owned(session, tenant_id, schedule_id)
            rows, total = paged(session, query, offset, limit)
            made = [row.job_id for row in rows if row.job_id]
            query_statuses = select(Job.id, Job.status).where(Job.id.in_(made))
            statuses = {job_id: status for job_id, status in session.execute(query_statuses)}
            return [_firing_record(row, statuses.get(row.job_id)) for row in rows], total

    # ------------------------------------------------------------ the scheduler's calls

    def due(self, now: datetime, limit: int = 100) -> list[DueSchedule]:
        """Running schedules of every tenant whose next fire time has come, earliest first."""
        query = (
            select(Schedule)
            .where(Schedule.status == ScheduleStatus.RUNNING.value, Schedule.next_fire_at <= now)
            .order_by(Schedule.next_fire_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [
                DueSchedule(
                    id=row.id,
                    next_fire_at=row.next_fire_at,
                    schedule_string=row.schedule_string,
                    timezone=row.timezone,
                    misfire=row.misfire,  # type: ignore[arg-type]
                )
                for row in session.scalars(query)
                if row.next_fire_at is not None
            ]

    def earliest_next_fire(self) -> datetime | None:
        """When the scheduler must next look, over every running schedule."""
        with self.db.reading() as session:
            value: datetime | None = session.scalar(
                select(func.min(Schedule.next_fire_at)).where(
                    Schedule.status == ScheduleStatus.RUNNING.value
                )
            )
            return value

    def fire(self, plan: FiringPlan) -> list[str]:
        """Apply a plan in one transaction; the ids of the jobs created (none if we lost).

        An IntegrityError means one of these fire times is already recorded: it fired
        once already, so only `next_fire_at` moves on.
        """
        try:
            with self.db.transaction() as session:
                return self._fire_in(session, plan)
        except IntegrityError:
            with self.db.transaction() as session:
                _advance(session, plan)
            return []

    def _fire_in(self, session: Session, plan: FiringPlan) -> list[str]:
        if not _advance(session, plan):
            return []
        row = session.get(Schedule, plan.schedule_id)
        assert row is not None  # the compare-and-set matched it
        spec = to_record(row)
        running = unfinished_job(session, row.id)
        created: list[str] = []
        for planned in plan.firings:
            outcome, job_id, reason = Outcome.SKIPPED, None, planned.reason
            if not planned.create_job:
                pass
            elif spec.overlap == "skip" and running is not None:
                reason = f"overlap: the schedule's job {running[0]} is still {running[1]}"
            else:
                try:
                    job = self.jobs.insert(session, row.tenant_id, row.created_by, spec.job(row.id))
                except InvalidInput as error:
                    reason = f"the job's references no longer hold: {error.message}"
                else:
                    outcome, job_id = Outcome.CREATED, job.id
                    running = (job.id, job.status)
                    created.append(job.id)
            session.add(
                ScheduleFiring(
                    schedule_id=row.id,
                    fire_time=planned.fire_time,
                    job_id=job_id,
                    outcome=outcome.value,
                    reason=reason,
                    created_at=utcnow(),
                )
            )
        session.flush()
        prune_firings(session, row.id)
        return created


def check_watched_folder(session: Session, tenant_id: str, folder_id: str) -> None:
    """400 unless `folder_id` is a folder (or a root) of the tenant."""
    if folder_id in ROOT_NAMES:
        return
    found = session.scalar(
        select(DataEntry.is_directory).where(
            DataEntry.id == folder_id, DataEntry.tenant_id == tenant_id
        )
    )
    if not found:
        raise InvalidInput(f"trigger.folderId: {folder_id!r} is not a folder of this tenant")


def forget_arrivals(session: Session, schedule_id: str) -> None:
    """A stopped schedule fires for nothing that arrived before it stopped."""
    session.execute(delete(TriggerArrival).where(TriggerArrival.schedule_id == schedule_id))


def prune_firings(session: Session, schedule_id: str) -> None:
    """Delete the schedule's firings older than its newest `KEPT_FIRINGS`."""
    oldest_kept = session.scalar(
        select(ScheduleFiring.fire_time)
        .where(ScheduleFiring.schedule_id == schedule_id)
        .order_by(ScheduleFiring.fire_time.desc())
        .offset(KEPT_FIRINGS - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            delete(ScheduleFiring).where(
                ScheduleFiring.schedule_id == schedule_id, ScheduleFiring.fire_time < oldest_kept
            )
        )


def _advance(session: Session, plan: FiringPlan) -> bool:
    """The compare-and-set on `next_fire_at`: True for the one caller that moved it."""
    result = session.execute(
        update(Schedule)
        .where(
            Schedule.id == plan.schedule_id,
            Schedule.status == ScheduleStatus.RUNNING.value,
            Schedule.next_fire_at == plan.expected_next,
        )
        .values(next_fire_at=plan.next_fire_at)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def unfinished_job(session: Session, schedule_id: str) -> tuple[str, str] | None:
    """The schedule's newest job that is not final, as (id, status)."""
    found = session.execute(
        select(Job.id, Job.status)
        .where(Job.schedule_id == schedule_id, Job.status.not_in([s.value for s in FINAL]))
        .order_by(Job.creation_date.desc())
        .limit(1)
    ).first()
    return (found[0], found[1]) if found is not None else None


def _owned(session: Session, tenant_id: str, schedule_id: str) -> Schedule:
    row = session.scalar(
        select(Schedule).where(Schedule.id == schedule_id, Schedule.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound("schedule", schedule_id)
    return row


def _firing_record(row: ScheduleFiring, job_status: str | None = None) -> FiringRecord:
    return FiringRecord(
        id=row.id,
        schedule_id=row.schedule_id,
        fire_time=row.fire_time,
        outcome=Outcome(row.outcome),
        job_id=row.job_id,
        reason=row.reason,
        created_at=row.created_at,
        files=list(row.files or []),
        job_status=job_status,
    )
