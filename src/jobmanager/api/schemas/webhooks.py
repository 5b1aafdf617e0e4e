"""Bodies of `/api/jobmanager/v3/webhooks` (an extension)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobmanager.api.schemas import DISPLAY_NAME_SCHEMA, timestamp
from jobmanager.domain.names import NameRuleError, check_display_name
from jobmanager.domain.webhooks import WebhookEvent
from jobmanager.store.webhooks import DeliveryRecord, WebhookRecord, WebhookSpec

MAX_URL_CHARS = 2048
MAX_LONGER_THAN_SECONDS = 7 * 86400


class WebhookCreate(BaseModel):
    """A receiver of job events. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, json_schema_extra=DISPLAY_NAME_SCHEMA)
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="Where deliveries are POSTed (http or https)",
    )
    events: list[WebhookEvent] = Field(
        min_length=1,
        max_length=len(WebhookEvent),
        description="The job events to deliver: started, succeeded, failed, stopped, "
        "longerThan (a RUNNING job passed `longerThanSeconds`)",
    )
    longerThanSeconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_LONGER_THAN_SECONDS,
        description="For `longerThan`: seconds a job runs before it is reported, once",
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=255,
        description="Signs the deliveries (HMAC-SHA256); made for you when not given",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_display_name(value, "webhook name")
        except NameRuleError as error:
            raise ValueError(str(error)) from None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError as error:
            raise ValueError(f"not a URL: {error}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http or https URL with a host is needed")
        return value

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[WebhookEvent]) -> list[WebhookEvent]:
        if len(set(value)) != len(value):
            raise ValueError("each event at most once")
        return value

    @model_validator(mode="after")
    def _longer_than(self) -> WebhookCreate:
        asked = WebhookEvent.LONGER_THAN in self.events
        if asked != (self.longerThanSeconds is not None):
            raise ValueError("longerThanSeconds is given exactly when events has longerThan")
        return self

    def to_spec(self) -> WebhookSpec:
        return WebhookSpec(
            name=self.name or "",
            url=self.url,
            secret=self.secret or secrets.token_urlsafe(32),
            events=tuple(self.events),
            longer_than_seconds=self.longerThanSeconds,
        )


class WebhookPublic(BaseModel):
    """A webhook; its secret is shown once, in the answer that created it."""

    id: str
    name: str
    url: str
    events: list[str]
    longerThanSeconds: int | None
    creationDate: str
    createdBy: str
    secret: str | None = Field(default=None, description="Only in the answer of the create")

    @classmethod
    def of(cls, record: WebhookRecord, *, with_secret: bool = False) -> WebhookPublic:
        return cls(
            id=record.id,
            name=record.name,
            url=record.url,
            events=[e.value for e in record.events],
            longerThanSeconds=record.longer_than_seconds,
            creationDate=timestamp(record.creation_date),
            createdBy=record.created_by,
            secret=record.secret if with_secret else None,
        )


class DeliveryPublic(BaseModel):
    """One delivery and its attempts (`log`: attempt, time, seconds, statusCode, error)."""

    id: str
    webhookId: str
    jobId: str
    event: str
    status: str = Field(description="pending, sending, delivered or failed")
    attempts: int
    nextAttemptDate: str | None
    lastStatusCode: int | None
    lastError: str
    creationDate: str
    deliveryDate: str | None
    payload: dict[str, Any]
    log: list[dict[str, Any]]

    @classmethod
    def of(cls, record: DeliveryRecord) -> DeliveryPublic:
        return cls(
            id=record.id,
            webhookId=record.webhook_id,
            jobId=record.job_id,
            event=record.event.value,
            status=record.status.value,
            attempts=record.attempts,
            nextAttemptDate=_maybe(record.next_attempt_at),
            lastStatusCode=record.last_status_code,
            lastError=record.last_error,
            creationDate=timestamp(record.created_at),
            deliveryDate=_maybe(record.delivered_at),
            payload=record.payload,
            log=record.log,
        )


def _maybe(moment: Any) -> str | None:
    return None if moment is None else timestamp(moment)
