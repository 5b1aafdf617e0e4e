"""`/api/jobmanager/v3/schedules`: cron-driven jobs (SPEC §1).

The scheduler (`jobmanager.scheduler`) fires them; these calls create, read, list,
start, stop and delete them, and show their recent firings (an extension).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.schedules import ScheduleCreate, firing_json, schedule_json
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import DATETIME, STRING, FilterError, enum_field, parse_filter
from jobmanager.store.schedules import ScheduleStatus

router = APIRouter(prefix="/api/jobmanager/v3/schedules", tags=["schedules"])

SCHEDULE_FILTER_FIELDS = {
    "name": STRING,
    "status": enum_field(ScheduleStatus),
    "modelId": STRING,
    "scheduleString": STRING,
    "creationDate": DATETIME,
}


@router.post("", status_code=201)
def create_schedule(
    body: ScheduleCreate, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> dict[str, Any]:
    spec = body.to_spec(settings.time_limits)
    return schedule_json(store.schedules.create(caller.tenant_id, caller.tenant, spec))


@router.get("")
def list_schedules(
    caller: CallerDep,
    store: StoreDep,
    page: PageDep,
    filter: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    try:
        parsed = parse_filter(filter, SCHEDULE_FILTER_FIELDS)
    except FilterError as error:
        raise InvalidInput(str(error)) from None
    records, total = store.schedules.list_page(caller.tenant_id, parsed, page.offset, page.size)
    return envelope("schedules", [schedule_json(r) for r in records], page, total)


@router.get("/{schedule_id}")
def get_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return schedule_json(store.schedules.get(caller.tenant_id, schedule_id))


@router.delete("/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.schedules.delete(caller.tenant_id, schedule_id)
    return Response(status_code=204)


@router.post("/{schedule_id}/start")
def start_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return schedule_json(store.schedules.start(caller.tenant_id, schedule_id))


@router.post("/{schedule_id}/stop")
def stop_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return schedule_json(store.schedules.stop(caller.tenant_id, schedule_id))


@router.get("/{schedule_id}/firings")
def list_firings(
    schedule_id: str, caller: CallerDep, store: StoreDep, page: PageDep
) -> dict[str, Any]:
    records, total = store.schedules.firings(caller.tenant_id, schedule_id, page.offset, page.size)
    return envelope("firings", [firing_json(r) for r in records], page, total)
