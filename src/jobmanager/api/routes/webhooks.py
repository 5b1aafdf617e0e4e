"""`/api/jobmanager/v3/webhooks` (an extension): a tenant's receivers of job events.

Create, list, read and delete webhooks, and read each one's delivery log. The
deliveries are made and sent in the background (`jobmanager.service.notifier`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.webhooks import DeliveryPublic, WebhookCreate, WebhookPublic
from jobmanager.domain.errors import InvalidInput

router = APIRouter(prefix="/api/jobmanager/v3/webhooks", tags=["webhooks"])
EXTENSION = {"x-extension": True}


@router.post("", status_code=201, responses=error_responses(413, 507), openapi_extra=EXTENSION)
def create_webhook(
    body: WebhookCreate, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> WebhookPublic:
    refusal = settings.webhook_destinations.refusal_of_url(body.url)
    if refusal is not None:
        raise InvalidInput(f"url: {refusal}")
    record = store.webhooks.create(caller.tenant_id, caller.tenant, body.to_spec())
    return WebhookPublic.of(record, with_secret=True)


@router.get("", openapi_extra=EXTENSION)
def list_webhooks(caller: CallerDep, store: StoreDep, page: PageDep) -> dict[str, Any]:
    records, total = store.webhooks.list_page(caller.tenant_id, offset=page.offset, limit=page.size)
    return envelope("webhooks", [WebhookPublic.of(record) for record in records], page, total)


@router.get("/{webhook_id}", responses=error_responses(404), openapi_extra=EXTENSION)
def get_webhook(webhook_id: str, caller: CallerDep, store: StoreDep) -> WebhookPublic:
    return WebhookPublic.of(store.webhooks.get(caller.tenant_id, webhook_id))


@router.delete(
    "/{webhook_id}", status_code=204, responses=error_responses(404), openapi_extra=EXTENSION
)
def delete_webhook(webhook_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.webhooks.delete(caller.tenant_id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", responses=error_responses(404), openapi_extra=EXTENSION)
def list_deliveries(
    webhook_id: str, caller: CallerDep, store: StoreDep, page: PageDep
) -> dict[str, Any]:
    records, total = store.webhooks.list_deliveries(
        caller.tenant_id, webhook_id, offset=page.offset, limit=page.size
    )
    return envelope("deliveries", [DeliveryPublic.of(record) for record in records], page, total)
