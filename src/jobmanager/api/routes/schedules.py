"""`/api/jobmanager/v3/schedules`: cron-driven jobs (SPEC §1).

The scheduler (`jobmanager.service.scheduler`) fires them; these calls create, read, list,
start, stop and delete them, and show their recent firings (an extension).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.filtering import FilterQuery
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.schedules import FiringPublic, ScheduleCreate, SchedulePublic
from jobmanager.domain.filter_fields import SCHEDULE_FILTER_FIELDS
from jobmanager.domain.filters import Filter

router = APIRouter(prefix="/api/jobmanager/v3/schedules", tags=["schedules"])

ScheduleFilterDep = Annotated[Filter, Depends(FilterQuery("Schedule", SCHEDULE_FILTER_FIELDS))]


@router.post("", status_code=201, responses=error_responses(413, 507))
def create_schedule(
    body: ScheduleCreate, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> SchedulePublic:
    spec = body.to_spec(settings.time_limits)
    return SchedulePublic.of(store.schedules.create(caller.tenant_id, caller.tenant, spec))


@router.get("")
def list_schedules(
    caller: CallerDep, store: StoreDep, page: PageDep, flt: ScheduleFilterDep
) -> dict[str, Any]:
    records, total = store.schedules.list_page(
        caller.tenant_id, offset=page.offset, limit=page.size, flt=flt
    )
    return envelope("schedules", [SchedulePublic.of(record) for record in records], page, total)


@router.get("/{schedule_id}", responses=error_responses(404))
def get_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> SchedulePublic:
    return SchedulePublic.of(store.schedules.get(caller.tenant_id, schedule_id))


@router.delete("/{schedule_id}", status_code=204, responses=error_responses(404))
def delete_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.schedules.delete(caller.tenant_id, schedule_id)
    return Response(status_code=204)


@router.post("/{schedule_id}/start", responses=error_responses(404, 507))
def start_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> SchedulePublic:
    return SchedulePublic.of(store.schedules.start(caller.tenant_id, schedule_id))


@router.post("/{schedule_id}/stop", responses=error_responses(404))
def stop_schedule(schedule_id: str, caller: CallerDep, store: StoreDep) -> SchedulePublic:
    return SchedulePublic.of(store.schedules.stop(caller.tenant_id, schedule_id))


@router.get("/{schedule_id}/firings", responses=error_responses(404))
def list_firings(
    schedule_id: str, caller: CallerDep, store: StoreDep, page: PageDep
) -> dict[str, Any]:
    records, total = store.schedules.list_firings(
        caller.tenant_id, schedule_id, offset=page.offset, limit=page.size
    )
    return envelope("firings", [FiringPublic.of(record) for record in records], page, total)
