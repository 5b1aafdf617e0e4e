"""Bodies of `/api/jobmanager/v3/webhooks` (an extension)."""

from __future__ import annotations

import secrets
from ipaddress import IPv6Address
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.schemas import (
    DISPLAY_NAME_SCHEMA,
    optional_display_name,
    refuse_null,
    timestamp,
)
from jobmanager.domain.destinations import literal_address
from jobmanager.domain.webhooks import WebhookEvent
from jobmanager.store.webhooks import DeliveryRecord, WebhookRecord, WebhookSpec

MAX_URL_CHARS = 2048
# http(s), a host name, an IPv4 address or an IPv6 one in brackets (no user part), an
# optional port, then printable ASCII (the same in every regex dialect; percent-encode the
# rest). A host of DNS labels of 1 to 63 characters (a longer one cannot be looked up).
# Which addresses deliveries may reach is the service's rule (`domain/destinations.py`).
URL_PATTERN = (
    r"^https?://([A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.?|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(:[0-9]{1,5})?([/?#][!-~]*)?$"
)
MAX_LONGER_THAN_SECONDS = 7 * 86400


class WebhookCreate(BaseModel):
    """A receiver of job events. Unknown fields are refused."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # longerThanSeconds exactly when events has longerThan
            "if": {
                "properties": {"events": {"contains": {"const": "longerThan"}}},
                "required": ["events"],
            },
            "then": {"required": ["longerThanSeconds"]},
            "else": {"not": {"required": ["longerThanSeconds"]}},
        },
    )

    name: str | None = Field(default=None, json_schema_extra=DISPLAY_NAME_SCHEMA)
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        pattern=URL_PATTERN,
        description="Where deliveries are POSTed (http or https)",
    )
    events: list[WebhookEvent] = Field(
        min_length=1,
        max_length=len(WebhookEvent),
        json_schema_extra={"uniqueItems": True},
        description="The job events to deliver: started, succeeded, failed, stopped, "
        "longerThan (a RUNNING job passed `longerThanSeconds`)",
    )
    longerThanSeconds: (
        Annotated[int, Field(ge=1, le=MAX_LONGER_THAN_SECONDS)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="For `longerThan`: seconds a job runs before it is reported, once",
    )
    secret: Annotated[str, Field(min_length=16, max_length=255)] | SkipJsonSchema[None] = Field(
        default=None,
        description="Signs the deliveries (HMAC-SHA256); made for you when not given",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return optional_display_name(value, "webhook name")

    _not_null = field_validator("longerThanSeconds", "secret", mode="before")(refuse_null)

    @field_validator("url")
    @classmethod
    def _ipv6_in_brackets(cls, value: str) -> str:
        """A host in brackets is an IPv6 address (the pattern lets its characters in)."""
        if value.split("//", 1)[-1].startswith("["):
            try:
                address = literal_address(urlsplit(value).hostname or "")
            except ValueError:  # urlsplit's own check of the brackets
                address = None
            if not isinstance(address, IPv6Address):
                raise ValueError("the host in brackets is not an IPv6 address")
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
