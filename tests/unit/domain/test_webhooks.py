"""Webhooks, pure rules: which job statuses are events, the signature, the backoff."""

from __future__ import annotations

import hashlib
import hmac

from jobmanager.domain.webhooks import (
    MAX_ATTEMPTS,
    MAX_RETRY_SECONDS,
    WebhookEvent,
    event_of_status,
    is_signed_by,
    retry_delay,
    signature,
)


def test_running_and_the_final_statuses_are_events_and_the_others_not() -> None:
    assert event_of_status("RUNNING") is WebhookEvent.STARTED
    assert event_of_status("SUCCEEDED") is WebhookEvent.SUCCEEDED
    assert event_of_status("FAILED") is WebhookEvent.FAILED
    assert event_of_status("STOPPED") is WebhookEvent.STOPPED
    for status in ("SUBMITTED", "STARTING", "STOPPING", "DELETED", ""):
        assert event_of_status(status) is None


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    body = b'{"event":"failed"}'
    expected = hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("secret", "1700000000", body) == f"sha256={expected}"
    assert is_signed_by("secret", "1700000000", body, f"sha256={expected}")
    assert not is_signed_by("secret", "1700000001", body, f"sha256={expected}")  # replayed
    assert not is_signed_by("other", "1700000000", body, f"sha256={expected}")


def test_retries_double_from_one_second_up_to_a_cap_then_stop() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert all(d is not None and d <= MAX_RETRY_SECONDS for d in delays)
    assert retry_delay(MAX_ATTEMPTS) is None
