"""Job events: appended by the worker and by the status writer, read by the event stream.

Sequence numbers count from 1 per job, without gaps. Two writers can add to one job
at the same moment: the worker (paragraphs, output) and `transition_in` (a status
change, which may come from the API, the reaper or the worker). Each takes the job's
row lock first — `transition_in` holds it already through its UPDATE, `append_in`
takes it with `SELECT ... FOR UPDATE` — and only then reads the last sequence
number, so writers of one job take turns and never pick the same number (SQLite
serialises every writer anyway, with `BEGIN IMMEDIATE`). The primary key (job,
seq) would refuse a duplicate all the same. Events are deleted with their job.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from jobmanager.common.wakeups import Topic, send
from jobmanager.domain.events import EventKind
from jobmanager.store.db import Database
from jobmanager.store.tables import Job, JobEvent
from jobmanager.store.types import utcnow

# An event to append: its kind and its data.
NewEvent = tuple[EventKind, dict[str, Any]]
READ_BATCH = 500


@dataclass(frozen=True)
class EventRecord:
    job_id: str
    seq: int
    kind: EventKind
    payload: dict[str, Any]
    created_at: datetime


class EventRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, job_id: str, events: Sequence[NewEvent]) -> int:
        """Append events in one transaction; the last sequence number (0 when the job is
        gone: a purged job keeps no events)."""
        if not events:
            return 0
        with self.db.transaction() as session:
            locked = session.scalar(select(Job.id).where(Job.id == job_id).with_for_update())
            if locked is None:
                return 0
            return append_in(session, job_id, events)

    def after(self, job_id: str, seq: int, limit: int = READ_BATCH) -> list[EventRecord]:
        """The job's events after sequence number `seq`, oldest first."""
        query = (
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.seq > seq)
            .order_by(JobEvent.seq)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [_record(row) for row in session.scalars(query)]

    def last_numbers(self, job_ids: Collection[str]) -> dict[str, int]:
        """The last sequence number of each of these jobs that has events."""
        ids = list(job_ids)
        found: dict[str, int] = {}
        with self.db.reading() as session:
            for start in range(0, len(ids), READ_BATCH):
                chunk = ids[start : start + READ_BATCH]
                query = (
                    select(JobEvent.job_id, func.max(JobEvent.seq))
                    .where(JobEvent.job_id.in_(chunk))
                    .group_by(JobEvent.job_id)
                )
                found.update({job_id: last for job_id, last in session.execute(query)})
        return found

    def of_kinds(self, job_id: str, kinds: Sequence[EventKind]) -> list[EventRecord]:
        """The job's events of these kinds only, oldest first (its status changes, say,
        without the output between them)."""
        query = (
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.kind.in_([kind.value for kind in kinds]))
            .order_by(JobEvent.seq)
        )
        with self.db.reading() as session:
            return [_record(row) for row in session.scalars(query)]


def append_in(session: Session, job_id: str, events: Sequence[NewEvent]) -> int:
    """Append inside the caller's transaction, which must hold the job's row lock; its
    commit wakes the job's followers (and the webhooks' outbox, for a status)."""
    last = session.scalar(select(func.max(JobEvent.seq)).where(JobEvent.job_id == job_id)) or 0
    now = utcnow()
    rows = [
        {"job_id": job_id, "seq": last + n, "kind": kind.value, "payload": data, "created_at": now}
        for n, (kind, data) in enumerate(events, start=1)
    ]
    session.execute(insert(JobEvent), rows)
    send(session, Topic.EVENTS, job_id)
    if any(kind is EventKind.STATUS for kind, _ in events):
        send(session, Topic.STATUSES, job_id)
    return last + len(rows)


def _record(row: JobEvent) -> EventRecord:
    return EventRecord(
        job_id=row.job_id,
        seq=row.seq,
        kind=EventKind(row.kind),
        payload=dict(row.payload or {}),
        created_at=row.created_at,
    )
