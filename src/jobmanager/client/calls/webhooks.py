"""`/api/jobmanager/v3/webhooks` (an extension): receivers of job events."""

from __future__ import annotations

from collections.abc import Sequence

from jobmanager.client.call import Call, no_content, parse_as, parse_page
from jobmanager.client.calls import DEFAULT_PAGE_SIZE, given, page_params, segment
from jobmanager.client.types import Delivery, ListPage, Webhook

BASE = "/api/jobmanager/v3/webhooks"


def create_webhook(
    url: str,
    events: Sequence[str],
    *,
    name: str | None = None,
    longer_than_seconds: int | None = None,
    secret: str | None = None,
) -> Call[Webhook]:
    """A new webhook: POSTs signed deliveries of `events` (`started`, `succeeded`,
    `failed`, `stopped`, `longerThan` with `longer_than_seconds`) to `url`. The answer
    holds the secret (made for you when not given); it is never shown again."""
    body = {
        "url": url,
        "events": list(events),
        **given(name=name, longerThanSeconds=longer_than_seconds, secret=secret),
    }
    return Call("POST", BASE, parse_as(Webhook), json=body)


def get_webhook(webhook_id: str) -> Call[Webhook]:
    """One webhook (without its secret)."""
    return Call("GET", f"{BASE}/{segment(webhook_id)}", parse_as(Webhook))


def list_webhooks(
    *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Webhook]]:
    """One page of webhooks, newest first."""
    params = page_params(page_number, page_size)
    return Call("GET", BASE, parse_page(Webhook, "webhooks"), params=params)


def delete_webhook(webhook_id: str) -> Call[None]:
    """Delete a webhook and its delivery log."""
    return Call("DELETE", f"{BASE}/{segment(webhook_id)}", no_content)


def list_deliveries(
    webhook_id: str, *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Delivery]]:
    """One page of a webhook's deliveries, newest first, with their attempts."""
    return Call(
        "GET",
        f"{BASE}/{segment(webhook_id)}/deliveries",
        parse_page(Delivery, "deliveries"),
        params=page_params(page_number, page_size),
    )
