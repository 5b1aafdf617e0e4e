"""`/api/prl/v3`: environment configurations, and the environments that exist now (SPEC §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.configurations import (
    ConfigurationChange,
    ConfigurationCreate,
    ConfigurationPublic,
    EnvironmentPublic,
    check_network_allow,
)

router = APIRouter(prefix="/api/prl/v3", tags=["configurations"])


@router.post("/configurations", status_code=201, responses=error_responses(409, 413, 507))
def create_configuration(
    body: ConfigurationCreate, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> ConfigurationPublic:
    check_network_allow(body.networkAllow, settings)
    record = store.configurations.create(caller.tenant_id, body.to_spec())
    return ConfigurationPublic.of(record, settings)


@router.get("/configurations")
def list_configurations(
    caller: CallerDep, store: StoreDep, page: PageDep, settings: SettingsDep
) -> dict[str, Any]:
    records, total = store.configurations.list_page(
        caller.tenant_id, offset=page.offset, limit=page.size
    )
    configurations = [ConfigurationPublic.of(record, settings) for record in records]
    return envelope("configurations", configurations, page, total)


@router.get("/configurations/{configuration_id}", responses=error_responses(404))
def get_configuration(
    configuration_id: str, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> ConfigurationPublic:
    record = store.configurations.get(caller.tenant_id, configuration_id)
    return ConfigurationPublic.of(record, settings)


@router.patch("/configurations/{configuration_id}", responses=error_responses(404, 413, 507))
def change_configuration(
    configuration_id: str,
    body: ConfigurationChange,
    caller: CallerDep,
    store: StoreDep,
    settings: SettingsDep,
) -> ConfigurationPublic:
    check_network_allow(body.networkAllow, settings)
    record = store.configurations.update(caller.tenant_id, configuration_id, body.changes())
    return ConfigurationPublic.of(record, settings)


@router.delete(
    "/configurations/{configuration_id}", status_code=204, responses=error_responses(404, 409)
)
def delete_configuration(configuration_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.configurations.delete(caller.tenant_id, configuration_id)
    return Response(status_code=204)


@router.get("/environments")
def list_environments(caller: CallerDep, store: StoreDep, page: PageDep) -> dict[str, Any]:
    records, total = store.configurations.list_environments(
        caller.tenant_id, offset=page.offset, limit=page.size
    )
    environments = [EnvironmentPublic.of(record) for record in records]
    return envelope("environments", environments, page, total)


@router.get("/environments/{environment_id}", responses=error_responses(404))
def get_environment(environment_id: str, caller: CallerDep, store: StoreDep) -> EnvironmentPublic:
    record = store.configurations.get_environment(caller.tenant_id, environment_id)
    return EnvironmentPublic.of(record)
