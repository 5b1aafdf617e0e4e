"""The schedules pages: the list, the form that makes one (its cron field shows the next
five fire times as they are typed), a schedule with start, stop, delete and its firings,
skipped ones with their reason. The form is the API's `ScheduleCreate`, same rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from jobmanager.api.deps import SettingsDep, StoreDep
from jobmanager.api.paging import PageDep
from jobmanager.api.schemas.schedules import (
    MAX_SCHEDULE_STRING_CHARS,
    NEXT_FIRE_TIMES,
    ScheduleCreate,
    upcoming_fire_times,
)
from jobmanager.console.forms import Pager, api_body, reference_names
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.console.submit import choices, parameters_of, sent_parameters
from jobmanager.domain import cron
from jobmanager.store.types import utcnow

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)


def wall_clock(moment: datetime, timezone: str) -> str:
    """A fire time as the schedule's zone reads it, with UTC beside it."""
    local = moment.astimezone(ZoneInfo(timezone))
    utc = moment.strftime("%H:%M UTC")
    shown = local.strftime("%a %Y-%m-%d %H:%M:%S")
    return shown if timezone == "UTC" else f"{shown} {timezone} ({utc})"


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    records, total = store.schedules.list_page(
        caller.tenant_id, offset=paging.offset, limit=paging.size
    )
    return page(
        request,
        "schedules/list.html",
        caller=caller,
        active="/schedules",
        schedules=records,
        next_fire={r.id: upcoming_fire_times(r)[:1] for r in records},
        wall_clock=wall_clock,
        pager=Pager.of(paging, total, "/schedules"),
    )


@router.get("/schedules/new", response_class=HTMLResponse)
def new_schedule_page(request: Request, caller: ConsoleCaller, store: StoreDep) -> Response:
    form = choices(store, caller.tenant_id)
    model = form["models"][0].id if form["models"] else ""
    return page(
        request,
        "schedules/new.html",
        caller=caller,
        active="/schedules",
        timezones=sorted(available_timezones()),
        max_chars=MAX_SCHEDULE_STRING_CHARS,
        parameters=parameters_of(store, caller.tenant_id, model),
        **form,
    )


@router.get("/schedules/fire-times", response_class=HTMLResponse)
def fire_times_preview(
    request: Request,
    caller: ConsoleCaller,
    schedule_string: Annotated[str, Query(max_length=MAX_SCHEDULE_STRING_CHARS)] = "",
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
) -> Response:
    """The next five fire times of what is typed, or what is wrong with it (a fragment)."""
    preview = cron.preview(schedule_string, timezone, utcnow(), NEXT_FIRE_TIMES)
    shown = [wall_clock(t, timezone) for t in preview.times]
    return page(request, "schedules/fire_times.html", preview=preview, shown=shown)


@router.post("/schedules", dependencies=XSRF_CHECKED)
async def create_schedule(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    settings: SettingsDep,
    model: Annotated[str, Form()],
    configuration: Annotated[str, Form()],
    input_folder: Annotated[str, Form()],
    output_folder: Annotated[str, Form()],
    schedule_string: Annotated[str, Form()],
    timezone: Annotated[str, Form()] = "UTC",
    name: Annotated[str, Form()] = "",
    misfire: Annotated[str, Form()] = "once",
    overlap: Annotated[str, Form()] = "skip",
    time_limit: Annotated[str, Form()] = "",
    extra_parameters: Annotated[str, Form()] = "",
) -> Response:
    form = parameters_of(store, caller.tenant_id, model)
    parameters = await sent_parameters(request, form, extra_parameters)
    body = api_body(
        ScheduleCreate,
        name=name.strip() or None,
        modelId=model,
        configurationId=configuration,
        inputFolderId=input_folder,
        outputFolderId=output_folder,
        maximumExecutionTime=time_limit.strip() or None,
        scheduleString=schedule_string,
        timezone=timezone,
        misfire=misfire,
        overlap=overlap,
        parameters=parameters,
    )
    spec = body.to_spec(settings.time_limits)
    record = store.schedules.create(caller.tenant_id, caller.tenant, spec)
    return redirect(request, f"/schedules/{record.id}")


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
def schedule_page(
    schedule_id: str, request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    record = store.schedules.get(caller.tenant_id, schedule_id)
    firings, total = store.schedules.list_firings(
        caller.tenant_id, schedule_id, offset=paging.offset, limit=paging.size
    )
    return page(
        request,
        "schedules/schedule.html",
        caller=caller,
        active="/schedules",
        schedule=record,
        names=reference_names(store, caller.tenant_id, record),
        coming=[wall_clock(t, record.timezone) for t in upcoming_fire_times(record)],
        firings=firings,
        wall_clock=wall_clock,
        pager=Pager.of(paging, total, f"/schedules/{schedule_id}"),
    )


@router.post("/schedules/{schedule_id}/start", dependencies=XSRF_CHECKED)
def start_schedule(
    schedule_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    store.schedules.start(caller.tenant_id, schedule_id)
    return redirect(request, f"/schedules/{schedule_id}")


@router.post("/schedules/{schedule_id}/stop", dependencies=XSRF_CHECKED)
def stop_schedule(
    schedule_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    store.schedules.stop(caller.tenant_id, schedule_id)
    return redirect(request, f"/schedules/{schedule_id}")


@router.post("/schedules/{schedule_id}/delete", dependencies=XSRF_CHECKED)
def delete_schedule(
    schedule_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    store.schedules.delete(caller.tenant_id, schedule_id)
    return redirect(request, "/schedules")
