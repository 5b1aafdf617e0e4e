"""Webhooks (an extension): a tenant's receivers of job events, and their delivery log.

The deliveries themselves are made and sent by the outbox (`store/deliveries.py`, run
by `service/notifier.py`); this module holds what the API reads and writes. A webhook's secret
is stored sealed (`auth/sealing.py`): a record read back carries none, the one the
create answers carries the secret it was made with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from jobmanager.auth.sealing import SEALED, SecretBox, UnreadableSecret
from jobmanager.domain.errors import NotFound
from jobmanager.domain.webhooks import DeliveryStatus, WebhookEvent
from jobmanager.store.db import Database
from jobmanager.store.query import paged
from jobmanager.store.tables import Webhook, WebhookDelivery
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.store")


@dataclass(frozen=True, kw_only=True)
class WebhookSpec:
    """What a caller sets on a webhook, already checked."""

    name: str
    url: str
    secret: str
    events: tuple[WebhookEvent, ...]
    longer_than_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookRecord(WebhookSpec):
    id: str
    tenant_id: str
    created_by: str
    creation_date: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    webhook_id: str
    job_id: str
    event: WebhookEvent
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    log: list[dict[str, Any]]
    created_at: datetime
    delivered_at: datetime | None


def webhook_record(row: Webhook, secret: str = "") -> WebhookRecord:
    return WebhookRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        created_by=row.created_by,
        name=row.name,
        url=row.url,
        secret=secret,
        events=tuple(WebhookEvent(e) for e in row.events),
        longer_than_seconds=row.longer_than_seconds,
        creation_date=row.creation_date,
    )


def delivery_record(row: WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        webhook_id=row.webhook_id,
        job_id=row.job_id,
        event=WebhookEvent(row.event),
        payload=dict(row.payload or {}),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        log=list(row.log or []),
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class WebhookRepository:
    def __init__(self, db: Database, box: SecretBox | None) -> None:
        self.db = db
        self._box = box

    @property
    def box(self) -> SecretBox:
        return needed(self._box)

    def create(self, tenant_id: str, created_by: str, spec: WebhookSpec) -> WebhookRecord:
        with self.db.transaction() as session:
            row = Webhook(
                tenant_id=tenant_id,
                created_by=created_by,
                name=spec.name,
                url=spec.url,
                secret=self.box.seal(spec.secret),
                events=[e.value for e in spec.events],
                longer_than_seconds=spec.longer_than_seconds,
                creation_date=utcnow(),
            )
            session.add(row)
            session.flush()
            return webhook_record(row, spec.secret)

    def get(self, tenant_id: str, webhook_id: str) -> WebhookRecord:
        with self.db.reading() as session:
            return webhook_record(_owned(session, tenant_id, webhook_id))

    def list_page(
        self, tenant_id: str, *, offset: int, limit: int
    ) -> tuple[list[WebhookRecord], int]:
        """One page of the tenant's webhooks, newest first, and how many there are."""
        query: Select[Any] = (
            select(Webhook)
            .where(Webhook.tenant_id == tenant_id)
            .order_by(Webhook.creation_date.desc(), Webhook.id.desc())
        )
        with self.db.reading() as session:
            rows, total = paged(session, query, offset, limit)
            return [webhook_record(row) for row in rows], total

    def delete(self, tenant_id: str, webhook_id: str) -> None:
        """Delete the webhook and its delivery log; nothing more is sent to it."""
        with self.db.transaction(essential=True) as session:
            row = _owned(session, tenant_id, webhook_id)
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == row.id))
            session.delete(row)

    def seal_plain_secrets(self) -> int:
        """Seal the secrets stored before secrets were sealed; how many (at start-up)."""
        with self.db.reading() as session:
            plain = session.execute(
                select(Webhook.id, Webhook.secret).where(Webhook.secret.not_like(f"{SEALED}%"))
            ).all()
        return self._replace_secrets([(id, secret, self.box.seal(secret)) for id, secret in plain])

    def reseal_secrets(self) -> int:
        """Seal every secret again with the box's current key (after `SecretBox.rotate`);
        how many. A secret no key opens is left as it is and logged."""
        with self.db.reading() as session:
            stored = session.execute(select(Webhook.id, Webhook.secret)).all()
        changes = []
        for webhook_id, secret in stored:
            try:
                changes.append((webhook_id, secret, self.box.reseal(secret)))
            except UnreadableSecret:
                log.error("the secret of webhook %s opens with no key: left as it is", webhook_id)
        return self._replace_secrets(changes)

    def _replace_secrets(self, changes: list[tuple[str, str, str]]) -> int:
        """Each (webhook, stored value, new value), where the webhook still holds the stored
        value (another replica or command may have replaced it meanwhile). None: no write
        (a service starting on a full disk has nothing to seal)."""
        if not changes:
            return 0
        replaced = 0
        with self.db.transaction() as session:
            for webhook_id, old, new in changes:
                result = session.execute(
                    update(Webhook)
                    .where(Webhook.id == webhook_id, Webhook.secret == old)
                    .values(secret=new)
                )
                replaced += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return replaced

    def list_deliveries(
        self, tenant_id: str, webhook_id: str, *, offset: int, limit: int
    ) -> tuple[list[DeliveryRecord], int]:
        """The webhook's deliveries, newest first."""
        query: Select[Any] = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        )
        with self.db.reading() as session:
            _owned(session, tenant_id, webhook_id)
            rows, total = paged(session, query, offset, limit)
            return [delivery_record(row) for row in rows], total


def needed(box: SecretBox | None) -> SecretBox:
    """The store's box of webhook secrets; a store opened without one (a tool's, which
    never touches webhooks) refuses to."""
    if box is None:
        raise RuntimeError("this store was opened without the webhook secrets' key")
    return box


def _owned(session: Session, tenant_id: str, webhook_id: str) -> Webhook:
    row = session.scalar(
        select(Webhook).where(Webhook.id == webhook_id, Webhook.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound("webhook", webhook_id)
    return row
