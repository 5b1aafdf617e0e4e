"""`/api/jobmanager/v3/schedules`: cron-driven jobs."""

from __future__ import annotations

from typing import Any

from jobmanager.client.call import Call, no_content, parse_as, parse_page
from jobmanager.client.calls import (
    DEFAULT_PAGE_SIZE,
    FilterArgument,
    filter_text,
    given,
    page_params,
    segment,
)
from jobmanager.client.types import Firing, ListPage, Schedule, Trigger

BASE = "/api/jobmanager/v3"


def create_schedule(
    name: str,
    model_id: str,
    configuration_id: str,
    input_folder_id: str,
    output_folder_id: str,
    schedule_string: str | None = None,
    *,
    trigger: Trigger | dict[str, Any] | None = None,
    maximum_execution_time: int | None = None,
    timezone: str | None = None,
    misfire: str | None = None,
    overlap: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Call[Schedule]:
    """A new schedule, `RUNNING` at once: a Quartz (`0 15 10 * * ?`) or 5-field cron string.

    Extensions: `trigger` instead of the cron string (a `Trigger(folder_id=, pattern=,
    debounce_seconds=)`: fire on new or changed files of that folder), `timezone`
    (IANA, default UTC), `misfire` (`once`, `skip`, `all`), `overlap` (`skip`, `allow`;
    with a trigger, `skip` makes arrivals wait for the running job), `parameters` for
    every job it creates. `maximum_execution_time` is in seconds (the server's default
    when None).
    """
    if isinstance(trigger, Trigger):
        trigger = trigger.model_dump(by_alias=True)
    body = {
        "name": name,
        "modelId": model_id,
        "configurationId": configuration_id,
        "inputFolderId": input_folder_id,
        "outputFolderId": output_folder_id,
        **given(
            maximumExecutionTime=maximum_execution_time,
            scheduleString=schedule_string,
            trigger=trigger,
            timezone=timezone,
            misfire=misfire,
            overlap=overlap,
            parameters=parameters,
        ),
    }
    return Call("POST", f"{BASE}/schedules", parse_as(Schedule), json=body)


def get_schedule(schedule_id: str) -> Call[Schedule]:
    """One schedule."""
    return Call("GET", f"{BASE}/schedules/{segment(schedule_id)}", parse_as(Schedule))


def list_schedules(
    filter: FilterArgument = None,
    *,
    page_number: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Call[ListPage[Schedule]]:
    """One page of schedules; `filter` over `name`, `status`, `modelId`, `scheduleString`,
    `creationDate`."""
    params = page_params(page_number, page_size, filter=filter_text(filter))
    return Call("GET", f"{BASE}/schedules", parse_page(Schedule, "schedules"), params=params)


def delete_schedule(schedule_id: str) -> Call[None]:
    """Delete a schedule."""
    return Call("DELETE", f"{BASE}/schedules/{segment(schedule_id)}", no_content)


def start_schedule(schedule_id: str) -> Call[Schedule]:
    """Let a schedule fire again (`RUNNING`)."""
    return Call("POST", f"{BASE}/schedules/{segment(schedule_id)}/start", parse_as(Schedule))


def stop_schedule(schedule_id: str) -> Call[Schedule]:
    """Stop a schedule from creating jobs (`STOPPED`)."""
    return Call("POST", f"{BASE}/schedules/{segment(schedule_id)}/stop", parse_as(Schedule))


def list_firings(
    schedule_id: str, *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Firing]]:
    """One page of a schedule's firings, newest first (an extension)."""
    return Call(
        "GET",
        f"{BASE}/schedules/{segment(schedule_id)}/firings",
        parse_page(Firing, "firings"),
        params=page_params(page_number, page_size),
    )
