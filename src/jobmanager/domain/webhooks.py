"""Webhooks: which job events a receiver asks for, how a delivery is signed, and when a
failed delivery is tried again.

A delivery's body is JSON. It is signed with the webhook's secret: the
`X-Jobmanager-Signature` header is `sha256=` and the hex HMAC-SHA256 of the
`X-Jobmanager-Timestamp` header's value (Unix seconds), a dot, and the body's bytes,
so a receiver can refuse a replayed old delivery as well as a forged one.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from jobmanager.domain.statuses import JobStatus


class WebhookEvent(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    LONGER_THAN = "longerThan"  # a RUNNING job passed the webhook's `longerThanSeconds`


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by one replica, which is sending it
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed


EVENT_OF_STATUS = {
    JobStatus.RUNNING: WebhookEvent.STARTED,
    JobStatus.SUCCEEDED: WebhookEvent.SUCCEEDED,
    JobStatus.FAILED: WebhookEvent.FAILED,
    JobStatus.STOPPED: WebhookEvent.STOPPED,
}
# The job statuses whose events name a webhook event.
STATUS_OF_EVENT = {event: status for status, event in EVENT_OF_STATUS.items()}

SIGNATURE_HEADER = "X-Jobmanager-Signature"
TIMESTAMP_HEADER = "X-Jobmanager-Timestamp"
EVENT_HEADER = "X-Jobmanager-Event"
DELIVERY_HEADER = "X-Jobmanager-Delivery"

MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0


def event_of_status(status: str) -> WebhookEvent | None:
    """The webhook event a job's move to `status` is, if any."""
    try:
        return EVENT_OF_STATUS.get(JobStatus(status))
    except ValueError:
        return None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def is_signed_by(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """A receiver's check (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def retry_delay(attempts: int) -> float | None:
    """Seconds to wait after `attempts` failed attempts, doubling from one second up to
    five minutes; None when the delivery has had its `MAX_ATTEMPTS`."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return float(min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1)))
