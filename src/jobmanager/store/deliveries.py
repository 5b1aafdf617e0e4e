"""The webhook outbox: job events become deliveries, claimed and sent by one replica.

`collect` reads the `status` events of `job_events` past a shared cursor (by event
time, re-reading `LOOKBACK` before it, since a transaction may commit a little after
its events' time) and records one delivery per (webhook, job, event) for each webhook
of the job's tenant that asks for it; the unique triple makes re-reading harmless and
lets every replica collect at once. It also records `longerThan` for RUNNING jobs
that passed a webhook's `longerThanSeconds`, once per job.

`claim_due` takes due deliveries by a conditional UPDATE (pending and due, or sending
but abandoned past its lease): across replicas exactly one wins each. The winner
sends and `record_attempt` writes the outcome under its claim token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from jobmanager.auth.sealing import SecretBox, UnreadableSecret
from jobmanager.domain.events import EventKind
from jobmanager.domain.statuses import JobStatus
from jobmanager.domain.webhooks import DeliveryStatus, WebhookEvent, event_of_status, retry_delay
from jobmanager.store.db import Database
from jobmanager.store.query import conflict_insert
from jobmanager.store.tables import Job, JobEvent, OutboxCursor, Webhook, WebhookDelivery
from jobmanager.store.types import new_id, stamp
from jobmanager.store.webhooks import needed

CURSOR = "webhooks"
LOOKBACK = timedelta(seconds=2)
EVENTS_BATCH = 2000
LEASE = timedelta(seconds=60)
IDLE_CURSOR_MOVE = timedelta(seconds=60)
KEPT_LOG_ENTRIES = 20


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery: what to send where, and the claim that records its outcome."""

    id: str
    claim: str
    webhook_id: str
    url: str
    secret: str | None  # None: this replica's keys do not open it (see `auth/sealing.py`)
    event: WebhookEvent
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Attempt:
    """How one send went: the receiver's status code, or the error that stopped it."""

    at: datetime
    seconds: float
    status_code: int | None = None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryRepository:
    def __init__(self, db: Database, box: SecretBox | None) -> None:
        self.db = db
        self._box = box

    def collect(self, now: datetime) -> int:
        """Record the deliveries of new events and of jobs running too long; how many."""
        with self.db.reading() as session:
            hooks = list(session.scalars(select(Webhook)))
            position = session.scalar(
                select(OutboxCursor.position).where(OutboxCursor.name == CURSOR)
            )
            events = _status_events(session, position) if hooks and position else []
            longer = _longer_than(session, hooks, now)
        rows = [*_event_rows(hooks, events), *longer]
        target = _cursor_target(position, events, now)
        if rows or target != position:
            with self.db.transaction() as session:
                _insert_new(session, WebhookDelivery, rows)
                _move_cursor(session, target)
        return len(rows)

    def claim_due(
        self, now: datetime, limit: int, skip: frozenset[str] = frozenset()
    ) -> list[Outgoing]:
        """Claim up to `limit` deliveries due at `now`, each by one replica only, none of
        the webhooks in `skip` (those this replica is sending to already)."""
        due = or_(
            and_(
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                WebhookDelivery.next_attempt_at <= now,
            ),
            and_(
                WebhookDelivery.status == DeliveryStatus.SENDING.value,
                WebhookDelivery.claimed_until < now,
            ),
        )
        with self.db.reading() as session:
            ids = list(
                session.scalars(
                    select(WebhookDelivery.id)
                    .where(due, WebhookDelivery.webhook_id.not_in(skip))
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                )
            )
        if not ids:
            return []
        claimed: list[Outgoing] = []
        with self.db.transaction() as session:
            for delivery_id in ids:
                claim = new_id()
                won = session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, due)
                    .values(
                        status=DeliveryStatus.SENDING.value, claim=claim, claimed_until=now + LEASE
                    )
                )
                if won.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(_outgoing(session, delivery_id, claim, needed(self._box)))
        return claimed

    def next_due(self, now: datetime, skip: frozenset[str] = frozenset()) -> datetime | None:
        """When a delivery comes due next, none of the webhooks in `skip`: a pending one's
        next attempt, a claim's lapse, a running job passing a webhook's `longerThanSeconds`;
        None when nothing is waiting."""
        waiting = WebhookDelivery.webhook_id.not_in(skip)
        with self.db.reading() as session:
            pending = session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.status == DeliveryStatus.PENDING.value, waiting
                )
            )
            lapse = session.scalar(
                select(func.min(WebhookDelivery.claimed_until)).where(
                    WebhookDelivery.status == DeliveryStatus.SENDING.value, waiting
                )
            )
            timed = Webhook.longer_than_seconds.is_not(None)
            hooks = session.scalars(select(Webhook).where(timed, Webhook.id.not_in(skip)))
            longer = [_longer_than_due(session, hook) for hook in hooks]
        times = [t for t in (pending, lapse, *longer) if t is not None]
        return min(times) if times else None

    def purge_finished(self, created_before: datetime) -> int:
        """Delete delivered and failed deliveries made before `created_before`."""
        finished = [DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value]
        with self.db.transaction(essential=True) as session:
            result = session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status.in_(finished),
                    WebhookDelivery.created_at < created_before,
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def release(self, outgoing: Outgoing) -> None:
        """Give a claimed delivery back unsent: due again at once, for any replica."""
        with self.db.transaction() as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == outgoing.id, WebhookDelivery.claim == outgoing.claim)
                .values(status=DeliveryStatus.PENDING.value, claim=None, claimed_until=None)
            )

    def record_attempt(self, outgoing: Outgoing, attempt: Attempt) -> DeliveryStatus | None:
        """Write how the attempt went; the delivery's new status (None: the claim was lost)."""
        with self.db.transaction() as session:
            row = session.scalar(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == outgoing.id, WebhookDelivery.claim == outgoing.claim)
                .with_for_update()
            )
            if row is None:
                return None
            row.attempts += 1
            row.last_status_code, row.last_error = attempt.status_code, attempt.error
            row.log = [*(row.log or []), _log_entry(row.attempts, attempt)][-KEPT_LOG_ENTRIES:]
            row.claim, row.claimed_until = None, None
            delay = None if attempt.succeeded else retry_delay(row.attempts)
            if attempt.succeeded:
                row.status, row.delivered_at = DeliveryStatus.DELIVERED.value, attempt.at
                row.next_attempt_at = None
            elif delay is None:
                row.status, row.next_attempt_at = DeliveryStatus.FAILED.value, None
            else:
                row.status = DeliveryStatus.PENDING.value
                row.next_attempt_at = attempt.at + timedelta(seconds=delay)
            return DeliveryStatus(row.status)


def _cursor_target(
    position: datetime | None, events: Sequence[tuple[JobEvent, Job]], now: datetime
) -> datetime:
    """Where the cursor goes: `now` the first time, else the newest event read; with no
    webhook to read for, it follows the clock now and then (not every round: a write)."""
    if position is None:
        return now
    if events:
        return max(position, events[-1][0].created_at)
    if now - position > IDLE_CURSOR_MOVE:
        return now - LOOKBACK
    return position


def _status_events(session: Session, position: datetime) -> list[tuple[JobEvent, Job]]:
    """The status events from `LOOKBACK` before the cursor on, oldest first, with their job:
    all of those up to the cursor, then at most `EVENTS_BATCH` after it (a cap on the
    re-read part could hold the cursor in place for good)."""
    status_events = (
        select(JobEvent, Job)
        .join(Job, Job.id == JobEvent.job_id)
        .where(JobEvent.kind == EventKind.STATUS.value)
        .order_by(JobEvent.created_at)
    )
    again = status_events.where(
        JobEvent.created_at > position - LOOKBACK, JobEvent.created_at <= position
    )
    new = status_events.where(JobEvent.created_at > position).limit(EVENTS_BATCH)
    return [(event, job) for query in (again, new) for event, job in session.execute(query)]


def _event_rows(
    hooks: Sequence[Webhook], events: Sequence[tuple[JobEvent, Job]]
) -> list[dict[str, Any]]:
    rows = []
    for event, job in events:
        kind = event_of_status(str(event.payload.get("status", "")))
        if kind is None:
            continue
        for hook in hooks:
            wanted = kind.value in hook.events and hook.tenant_id == job.tenant_id
            if wanted and hook.creation_date <= event.created_at:
                payload = _job_payload(job, event.payload, event.created_at)
                rows.append(_delivery_row(hook, job.id, kind, payload, event.created_at))
    return rows


def _longer_than(session: Session, hooks: Sequence[Webhook], now: datetime) -> list[dict[str, Any]]:
    """Deliveries for RUNNING jobs that passed a webhook's `longerThanSeconds` (not yet sent)."""
    rows = []
    for hook in hooks:
        if hook.longer_than_seconds is None or WebhookEvent.LONGER_THAN not in hook.events:
            continue
        seen = exists().where(
            WebhookDelivery.webhook_id == hook.id,
            WebhookDelivery.job_id == Job.id,
            WebhookDelivery.event == WebhookEvent.LONGER_THAN.value,
        )
        jobs = session.scalars(
            select(Job).where(
                Job.tenant_id == hook.tenant_id,
                Job.status == JobStatus.RUNNING.value,
                Job.running_since <= now - timedelta(seconds=hook.longer_than_seconds),
                ~seen,
            )
        )
        for job in jobs:
            details = {"status": job.status, "longerThanSeconds": hook.longer_than_seconds}
            payload = _job_payload(job, details, now)
            rows.append(_delivery_row(hook, job.id, WebhookEvent.LONGER_THAN, payload, now))
    return rows


def _longer_than_due(session: Session, hook: Webhook) -> datetime | None:
    """When the first RUNNING job of the hook's tenant not yet sent passes its threshold."""
    if hook.longer_than_seconds is None or WebhookEvent.LONGER_THAN not in hook.events:
        return None
    seen = exists().where(
        WebhookDelivery.webhook_id == hook.id,
        WebhookDelivery.job_id == Job.id,
        WebhookDelivery.event == WebhookEvent.LONGER_THAN.value,
    )
    since: datetime | None = session.scalar(
        select(func.min(Job.running_since)).where(
            Job.tenant_id == hook.tenant_id, Job.status == JobStatus.RUNNING.value, ~seen
        )
    )
    return since + timedelta(seconds=hook.longer_than_seconds) if since else None


def _job_payload(job: Job, details: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "time": stamp(at),
        "job": {
            "id": job.id,
            "modelId": job.model_id,
            "scheduleId": job.schedule_id,
            "creationDate": stamp(job.creation_date),
            **{k: v for k, v in details.items() if k != "time"},
        },
    }


def _delivery_row(
    hook: Webhook, job_id: str, kind: WebhookEvent, payload: dict[str, Any], at: datetime
) -> dict[str, Any]:
    delivery_id = new_id()
    body = {"id": delivery_id, "event": kind.value, "webhookId": hook.id, **payload}
    return {
        "id": delivery_id,
        "webhook_id": hook.id,
        "job_id": job_id,
        "event": kind.value,
        "payload": body,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": at,
        "last_error": "",
        "log": [],
        "created_at": at,
    }


def _insert_new(session: Session, table: type[WebhookDelivery], rows: list[dict[str, Any]]) -> None:
    """Insert the rows not recorded yet (the unique triple refuses the others quietly), of
    the webhooks still there: one deleted since it was read gets none (held meanwhile:
    `FOR SHARE` on PostgreSQL; SQLite's write transaction holds everything)."""
    wanted = {row["webhook_id"] for row in rows}
    kept = set(
        session.scalars(select(Webhook.id).where(Webhook.id.in_(wanted)).with_for_update(read=True))
    )
    rows = [row for row in rows if row["webhook_id"] in kept]
    if not rows:
        return
    session.execute(conflict_insert(session, table).values(rows).on_conflict_do_nothing())


def _move_cursor(session: Session, position: datetime) -> None:
    """Forward only: the cursor never goes back, whoever writes it."""
    session.execute(
        conflict_insert(session, OutboxCursor)
        .values(name=CURSOR, position=position)
        .on_conflict_do_nothing()
    )
    session.execute(
        update(OutboxCursor)
        .where(OutboxCursor.name == CURSOR, OutboxCursor.position < position)
        .values(position=position)
    )


def _outgoing(session: Session, delivery_id: str, claim: str, box: SecretBox) -> Outgoing:
    row, hook = session.execute(
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    return Outgoing(
        id=row.id,
        claim=claim,
        webhook_id=hook.id,
        url=hook.url,
        secret=_opened(box, hook.secret),
        event=WebhookEvent(row.event),
        payload=dict(row.payload),
        attempts=row.attempts,
    )


def _opened(box: SecretBox, stored: str) -> str | None:
    """The webhook's secret; None when this replica has no key that opens it."""
    try:
        return box.open(stored)
    except UnreadableSecret:
        return None


def _log_entry(number: int, attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt": number,
        "time": stamp(attempt.at),
        "seconds": round(attempt.seconds, 3),
        "statusCode": attempt.status_code,
        "error": attempt.error,
    }
