"""Jobs: creation with reference checks, reads and lists, and the one status writer.

`JobRepository.transition` (with `transition_in` inside a transaction) is the only code
in the service that writes a job's `status`: a compare-and-set
`UPDATE jobs SET status = :target WHERE id = :id AND status IN (:sources)` whose
sources and target are checked against the state machine in `domain.statuses`. A move
also appends the job's `status` event (and, to a final status, its `end` event) in the
same transaction: every status change is in the event stream, whoever made it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobmanager.domain.errors import NotFound
from jobmanager.domain.events import EventKind
from jobmanager.domain.filter_fields import JOB_FILTER_FIELDS
from jobmanager.domain.filters import NO_FILTER, Filter
from jobmanager.domain.retries import RetryPolicy
from jobmanager.domain.statuses import FINAL, RETRYABLE, JobStatus, can_transition
from jobmanager.store.attempts import AttemptRecord, attempts_in, close_attempt_in
from jobmanager.store.db import Database
from jobmanager.store.events import NewEvent, append_in
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.query import filter_clause, filter_columns, paged
from jobmanager.store.references import check_job_references
from jobmanager.store.tables import Configuration, Job
from jobmanager.store.types import utcnow

ENDED_BATCH = 500  # ids per query of `ended`
FILTER_COLUMNS = filter_columns(Job, JOB_FILTER_FIELDS)
# Columns a transition may set besides `status`.
TRANSITION_FIELDS = frozenset(
    {
        "message",
        "environment_id",
        "start_date",
        "running_since",
        "end_date",
        "worker_id",
        "heartbeat_at",
        "progress",
        "stop_requested",
        "attempt",
        "not_before",
    }
)


@dataclass(frozen=True)
class Accounting:
    """Where a job's time and resources went (an extension; see docs/accounting.md).

    Each figure is None until the phase it describes has ended. `usage_source` says where
    the memory and CPU figures come from: `cgroup` or `processes`.
    """

    queued_seconds: float | None = None
    starting_seconds: float | None = None
    running_seconds: float | None = None
    saving_seconds: float | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None
    usage_source: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None


ACCOUNTING_FIELDS = frozenset(Accounting.__dataclass_fields__)


@dataclass(frozen=True)
class JobRecord:
    id: str
    tenant_id: str
    created_by: str
    model_id: str
    model_version_id: str
    configuration_id: str
    input_folder_id: str
    output_folder_id: str
    environment_id: str
    max_execution_seconds: int
    parameters: dict[str, Any]
    options: dict[str, Any]
    status: JobStatus
    message: str
    progress: dict[str, Any] | None
    creation_date: datetime
    start_date: datetime | None
    running_since: datetime | None
    end_date: datetime | None
    stop_requested: bool
    worker_id: str | None
    heartbeat_at: datetime | None
    schedule_id: str | None
    accounting: Accounting = Accounting()
    provenance: dict[str, Any] | None = None
    rerun_of: str | None = None
    repair_of: str | None = None
    retry: dict[str, Any] | None = None
    attempt: int = 1
    not_before: datetime | None = None
    # Read by `JobRepository.get` only: the attempts so far, and a waiting job's place in
    # its configuration's queue (1: next).
    attempts: tuple[AttemptRecord, ...] = ()
    queue_position: int | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


def to_record(job: Job) -> JobRecord:
    return JobRecord(
        id=job.id,
        tenant_id=job.tenant_id,
        created_by=job.created_by,
        model_id=job.model_id,
        model_version_id=job.model_version_id,
        configuration_id=job.configuration_id,
        input_folder_id=job.input_folder_id,
        output_folder_id=job.output_folder_id,
        environment_id=job.environment_id,
        max_execution_seconds=job.max_execution_seconds,
        parameters=dict(job.parameters or {}),
        options=dict(job.options or {}),
        status=JobStatus(job.status),
        message=job.message,
        progress=job.progress,
        creation_date=job.creation_date,
        start_date=job.start_date,
        running_since=job.running_since,
        end_date=job.end_date,
        stop_requested=job.stop_requested,
        worker_id=job.worker_id,
        heartbeat_at=job.heartbeat_at,
        schedule_id=job.schedule_id,
        accounting=Accounting(**{name: getattr(job, name) for name in ACCOUNTING_FIELDS}),
        provenance=job.provenance,
        rerun_of=job.rerun_of,
        repair_of=job.repair_of,
        retry=job.retry,
        attempt=job.attempt,
        not_before=job.not_before,
    )


class JobRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------ create and read

    def create(self, tenant_id: str, created_by: str, spec: JobSpec) -> JobRecord:
        """Check every reference for this tenant, then insert the job `SUBMITTED`.

        With an idempotency token, a repeat answers the job the first call made.
        """
        if spec.idempotency_token is not None:
            existing = self._by_token(tenant_id, spec.idempotency_token)
            if existing is not None:
                return existing
        try:
            with self.db.transaction() as session:
                return to_record(self.insert(session, tenant_id, created_by, spec))
        except IntegrityError:
            if spec.idempotency_token is None:
                raise
            existing = self._by_token(tenant_id, spec.idempotency_token)
            if existing is None:
                raise
            return existing

    def insert(self, session: Session, tenant_id: str, created_by: str, spec: JobSpec) -> Job:
        """Insert inside the caller's transaction (the scheduler records its firing with it)."""
        version_id = check_job_references(session, tenant_id, spec)
        job = Job(
            tenant_id=tenant_id,
            created_by=created_by,
            model_id=spec.model_id,
            model_version_id=version_id,
            configuration_id=spec.configuration_id,
            input_folder_id=spec.input_folder_id,
            output_folder_id=spec.output_folder_id,
            max_execution_seconds=spec.max_execution_seconds,
            parameters=spec.parameters,
            options=spec.options,
            idempotency_token=spec.idempotency_token,
            schedule_id=spec.schedule_id,
            rerun_of=spec.rerun_of,
            repair_of=spec.repair_of,
            retry=spec.retry,
            attempt=1,
            status=JobStatus.SUBMITTED.value,
            message="",
            creation_date=utcnow(),
            dispatched_at=utcnow(),  # its caller dispatches it next (store/sends.py)
        )
        session.add(job)
        session.flush()
        return job

    def _by_token(self, tenant_id: str, token: str) -> JobRecord | None:
        with self.db.reading() as session:
            job = session.scalar(
                select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_token == token)
            )
            return to_record(job) if job is not None else None

    def get(self, tenant_id: str, job_id: str) -> JobRecord:
        with self.db.reading() as session:
            job = session.scalar(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))
            if job is None:
                raise NotFound("job", job_id)
            record = replace(to_record(job), attempts=attempts_in(session, job_id))
            if record.status is not JobStatus.SUBMITTED:
                return record
            position = queue_position_in(session, job)
            return replace(record, queue_position=position, message=_waiting(record, position))

    def get_any(self, job_id: str) -> JobRecord | None:
        """A job of any tenant: for workers, which act on jobs the API already authorized."""
        with self.db.reading() as session:
            job = session.get(Job, job_id)
            return to_record(job) if job is not None else None

    def ended(self, job_ids: Collection[str]) -> dict[str, JobRecord | None]:
        """Of these jobs (any tenant's), those that are final, and those gone (None)."""
        ids, found = list(job_ids), dict[str, JobRecord | None]()
        with self.db.reading() as session:
            for start in range(0, len(ids), ENDED_BATCH):
                chunk = Job.id.in_(ids[start : start + ENDED_BATCH])
                rows = {job.id: job for job in session.scalars(select(Job).where(chunk))}
                found.update({i: None for i in ids[start : start + ENDED_BATCH] if i not in rows})
                found.update({i: to_record(r) for i, r in rows.items() if r.status in FINAL})
        return found

    def list_page(
        self, tenant_id: str, *, offset: int, limit: int, flt: Filter = NO_FILTER
    ) -> tuple[list[JobRecord], int]:
        """One page of the tenant's jobs, newest first, and how many match (capped)."""
        query: Select[Any] = (
            select(Job)
            .where(Job.tenant_id == tenant_id, filter_clause(flt, FILTER_COLUMNS))
            .order_by(Job.creation_date.desc(), Job.id.desc())
        )
        with self.db.reading() as session:
            rows, total = paged(session, query, offset, limit)
            return [to_record(row) for row in rows], total

    def list_next_to(
        self,
        tenant_id: str,
        *,
        limit: int,
        flt: Filter = NO_FILTER,
        older_than: str | None = None,
        newer_than: str | None = None,
        scan: int | None = None,
    ) -> tuple[list[JobRecord], str | None]:
        """Up to `limit` of the tenant's jobs, newest first: the newest ones, or those just
        older (or just newer) than the job `older_than` (`newer_than`) in that order.

        Paging by a job rather than an offset (the console's pages) costs the same at the
        100,000th job as at the first: the index (tenant, creation_date, id) is walked from
        the job on. With a filter and `scan`, only the `scan` jobs next to the position are
        looked at, so a filter that matches rarely costs no more than `scan` rows; the
        second value is then the last job looked at when the list may go on beyond it
        (the next search starts there), else None. An unknown or foreign job answers 404.
        """
        older = newer_than is None
        order = (
            (Job.creation_date.desc(), Job.id.desc())
            if older
            else (Job.creation_date.asc(), Job.id.asc())
        )
        with self.db.reading() as session:
            position = older_than if older else newer_than
            beyond = Job.tenant_id == tenant_id
            if position is not None:
                beyond = and_(beyond, _past(*self._place(session, tenant_id, position), older))
            query = select(Job).where(beyond, filter_clause(flt, FILTER_COLUMNS))
            scanned_to = None
            if flt.fields and scan is not None:
                window = select(Job.creation_date, Job.id).where(beyond).order_by(*order)
                last = session.execute(window.offset(scan - 1).limit(1)).first()
                if last is not None:  # the window's far end, itself included
                    query = query.where(not_(_past(last[0], last[1], older)))
                    scanned_to = str(last[1])
            rows = list(session.scalars(query.order_by(*order).limit(limit)))
            records = [to_record(row) for row in (rows if older else reversed(rows))]
            return records, scanned_to

    @staticmethod
    def _place(session: Session, tenant_id: str, job_id: str) -> tuple[datetime, str]:
        """Where the job is in the list: its (creation_date, id)."""
        found = session.execute(
            select(Job.creation_date, Job.id).where(Job.id == job_id, Job.tenant_id == tenant_id)
        ).first()
        if found is None:
            raise NotFound("job", job_id)
        return found[0], found[1]

    # ------------------------------------------------------------ status

    def transition(
        self,
        job_id: str,
        sources: Iterable[JobStatus],
        target: JobStatus,
        of_attempt: int | None = None,
        **values: Any,
    ) -> bool:
        """Move the job to `target` if its status is one of `sources` (and, given
        `of_attempt`, the attempt under way is that one); True when it moved."""
        with self.db.transaction(essential=True) as session:
            return transition_in(session, job_id, sources, target, of_attempt, **values)

    def retry_policy(self, job: JobRecord) -> RetryPolicy:
        """The job's own retry policy, else its configuration's, else none."""
        if job.retry:
            return RetryPolicy.of_json(job.retry)
        with self.db.reading() as session:
            configured = session.scalar(
                select(Configuration.retry).where(Configuration.id == job.configuration_id)
            )
        return RetryPolicy.of_json(configured)

    def retry(self, job_id: str, attempt: int, wait_seconds: float, message: str) -> bool:
        """Send the job back to wait for its next attempt, `wait_seconds` from now — if
        attempt `attempt` is still the one under way and live; True when it moved."""
        return self.transition(
            job_id,
            RETRYABLE,
            JobStatus.SUBMITTED,
            of_attempt=attempt,
            message=message,
            attempt=attempt + 1,
            not_before=utcnow() + timedelta(seconds=wait_seconds),
            environment_id="",
            progress=None,
        )

    def request_stop(self, tenant_id: str, job_id: str) -> JobRecord:
        """Ask a job to stop: a waiting job stops at once, a live one goes `STOPPING`,
        a final or already stopping one is answered unchanged."""
        for _ in range(5):  # the job may move between our read and our write
            job = self.get(tenant_id, job_id)
            if job.status is JobStatus.SUBMITTED:
                moved = self.transition(
                    job_id,
                    [JobStatus.SUBMITTED],
                    JobStatus.STOPPED,
                    message="Stopped before it started.",
                )
            elif job.status in (JobStatus.STARTING, JobStatus.RUNNING):
                moved = self.transition(
                    job_id,
                    [job.status],
                    JobStatus.STOPPING,
                    message="Stop requested; stopping the environment and saving outputs.",
                    stop_requested=True,
                )
            else:
                return job
            if moved:
                return self.get(tenant_id, job_id)
        return self.get(tenant_id, job_id)

    def record_accounting(self, job_id: str, **figures: Any) -> None:
        """Set some of the job's accounting figures (the worker, as each phase ends)."""
        unknown = set(figures) - ACCOUNTING_FIELDS
        if unknown:
            raise ValueError(f"not an accounting figure: {sorted(unknown)}")
        with self.db.transaction() as session:
            session.execute(update(Job).where(Job.id == job_id).values(**figures))

    def record_provenance(self, job_id: str, **entries: Any) -> None:
        """Add entries to the job's provenance (the worker: once staged, once run)."""
        with self.db.transaction() as session:
            current = session.scalar(select(Job.provenance).where(Job.id == job_id)) or {}
            provenance = {**current, **entries}
            session.execute(update(Job).where(Job.id == job_id).values(provenance=provenance))

    def set_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        with self.db.transaction() as session:
            session.execute(update(Job).where(Job.id == job_id).values(progress=progress))


def _past(date: datetime, job_id: str, older: bool) -> ColumnElement[bool]:
    """The jobs after (creation_date, id) in the list's order: older ones, or newer."""
    place = tuple_(Job.creation_date, Job.id)
    return place < tuple_(date, job_id) if older else place > tuple_(date, job_id)


def transition_in(
    session: Session,
    job_id: str,
    sources: Iterable[JobStatus],
    target: JobStatus,
    of_attempt: int | None = None,
    **values: Any,
) -> bool:
    """The compare-and-set. Raises ValueError for a move the state machine forbids.

    `of_attempt` guards a worker's moves: once its attempt was taken over (and maybe
    retried), nothing it still does can move the job's next attempt. A move to a final
    status or back to `SUBMITTED` closes the open attempt with its status and message."""
    allowed_sources = frozenset(sources)
    forbidden = [s for s in allowed_sources if not can_transition(s, target)]
    if forbidden or not allowed_sources:
        raise ValueError(f"transition {sorted(forbidden)} -> {target} is not allowed")
    unknown = set(values) - TRANSITION_FIELDS
    if unknown:
        raise ValueError(f"a transition cannot set {sorted(unknown)}")
    if target in FINAL:
        values.setdefault("end_date", utcnow())
    if target is JobStatus.SUBMITTED:  # a retry: the sweep sends it once it may start
        values["dispatched_at"] = None
    guard = [Job.id == job_id, Job.status.in_([s.value for s in allowed_sources])]
    if of_attempt is not None:
        guard.append(Job.attempt == of_attempt)
    result = session.execute(update(Job).where(*guard).values(status=target.value, **values))
    moved = bool(result.rowcount == 1)  # type: ignore[attr-defined]
    if moved:  # the UPDATE holds the job's row lock: the events' numbers are ours
        events = _status_events(session, job_id, target, values)
        append_in(session, job_id, events)
        if target in FINAL or target is JobStatus.SUBMITTED:
            outcome = JobStatus.FAILED if target is JobStatus.SUBMITTED else target
            close_attempt_in(session, job_id, outcome.value, str(events[0][1].get("message", "")))
    return moved


def queue_position_in(session: Session, job: Job) -> int:
    """A waiting job's place in its configuration's queue: 1 + the waiting jobs before it."""
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.status == JobStatus.SUBMITTED.value,
            Job.configuration_id == job.configuration_id,
            or_(
                Job.creation_date < job.creation_date,
                and_(Job.creation_date == job.creation_date, Job.id < job.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def _waiting(job: JobRecord, position: int) -> str:
    """Why a waiting job waits: what the claim or a retry wrote, else its place."""
    if job.message or position == 1:
        return job.message
    return f"Waiting in the queue of its configuration: {position - 1} earlier jobs go first."


def _status_events(
    session: Session, job_id: str, target: JobStatus, values: dict[str, Any]
) -> list[NewEvent]:
    """The stream's record of a move: a status event, and the end event when final."""
    status: dict[str, Any] = {"status": target.value}
    if "message" in values:
        status["message"] = values["message"]
    if target not in FINAL:
        return [(EventKind.STATUS, status)]
    message = session.scalar(select(Job.message).where(Job.id == job_id)) or ""
    end = {"status": target.value, "message": message}
    return [(EventKind.STATUS, {**status, "message": message}), (EventKind.END, end)]
