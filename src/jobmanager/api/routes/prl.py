"""`/api/prl/v3`: environment configurations, and the environments that exist now (SPEC §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from jobmanager.api.deps import CallerDep, StoreDep
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.prl import (
    ConfigurationChange,
    ConfigurationCreate,
    configuration_json,
    environment_json,
)

router = APIRouter(prefix="/api/prl/v3", tags=["environments"])


@router.post("/configurations", status_code=201)
def create_configuration(
    body: ConfigurationCreate, caller: CallerDep, store: StoreDep
) -> dict[str, Any]:
    record = store.configurations.create(caller.tenant_id, body.to_spec())
    return configuration_json(record)


@router.get("/configurations")
def list_configurations(caller: CallerDep, store: StoreDep, page: PageDep) -> dict[str, Any]:
    records, total = store.configurations.list_page(
        caller.tenant_id, offset=page.offset, limit=page.size
    )
    return envelope("configurations", [configuration_json(r) for r in records], page, total)


@router.get("/configurations/{configuration_id}")
def get_configuration(configuration_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return configuration_json(store.configurations.get(caller.tenant_id, configuration_id))


@router.patch("/configurations/{configuration_id}")
def change_configuration(
    configuration_id: str, body: ConfigurationChange, caller: CallerDep, store: StoreDep
) -> dict[str, Any]:
    record = store.configurations.update(caller.tenant_id, configuration_id, body.changes())
    return configuration_json(record)


@router.delete("/configurations/{configuration_id}", status_code=204)
def delete_configuration(configuration_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.configurations.delete(caller.tenant_id, configuration_id)
    return Response(status_code=204)


@router.get("/environments")
def list_environments(caller: CallerDep, store: StoreDep, page: PageDep) -> dict[str, Any]:
    records, total = store.configurations.list_environments(
        caller.tenant_id, offset=page.offset, limit=page.size
    )
    return envelope("environments", [environment_json(r) for r in records], page, total)


@router.get("/environments/{environment_id}")
def get_environment(environment_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return environment_json(store.configurations.get_environment(caller.tenant_id, environment_id))
