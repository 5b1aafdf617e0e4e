"""The configurations pages: the list, one configuration, and the form that makes one
(its fields are the API's `ConfigurationCreate`, checked by the same rules)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from jobmanager.api.deps import StoreDep
from jobmanager.api.paging import PageDep
from jobmanager.api.schemas.configurations import (
    MAX_CPUS,
    MAX_DISK_MIB,
    MAX_ENVIRONMENTS,
    MAX_MEMORY_MIB,
    MAX_PROCESSES,
    MIN_CPUS,
    MIN_DISK_MIB,
    MIN_MEMORY_MIB,
    MIN_PROCESSES,
    ConfigurationCreate,
)
from jobmanager.console.forms import Pager, api_body, lines, number
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.domain.errors import InvalidInput

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
# The limits the form's fields show (the API's schema checks them).
LIMITS = {
    "cpus": (MIN_CPUS, MAX_CPUS),
    "memoryMiB": (MIN_MEMORY_MIB, MAX_MEMORY_MIB),
    "maxProcesses": (MIN_PROCESSES, MAX_PROCESSES),
    "diskMiB": (MIN_DISK_MIB, MAX_DISK_MIB),
    "maxEnvironments": (1, MAX_ENVIRONMENTS),
}


@router.get("/configurations", response_class=HTMLResponse)
def configurations_page(
    request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    records, total = store.configurations.list_page(
        caller.tenant_id, offset=paging.offset, limit=paging.size
    )
    return page(
        request,
        "configurations/list.html",
        caller=caller,
        active="/configurations",
        configurations=records,
        pager=Pager.of(paging, total, "/configurations"),
    )


@router.get("/configurations/new", response_class=HTMLResponse)
def new_configuration_page(request: Request, caller: ConsoleCaller) -> Response:
    return page(
        request,
        "configurations/new.html",
        caller=caller,
        active="/configurations",
        limits=LIMITS,
    )


@router.get("/configurations/{configuration_id}", response_class=HTMLResponse)
def configuration_page(
    configuration_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    return page(
        request,
        "configurations/configuration.html",
        caller=caller,
        active="/configurations",
        configuration=store.configurations.get(caller.tenant_id, configuration_id),
    )


@router.post("/configurations", dependencies=XSRF_CHECKED)
def create_configuration(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    name: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    runtime: Annotated[str, Form()] = "python3",
    packages: Annotated[str, Form()] = "",
    cpus: Annotated[str, Form()] = "",
    memory_mib: Annotated[str, Form()] = "",
    max_processes: Annotated[str, Form()] = "",
    disk_mib: Annotated[str, Form()] = "",
    max_environments: Annotated[str, Form()] = "1",
    when_busy: Annotated[str, Form()] = "queue",
    network: Annotated[str, Form()] = "none",
    variables: Annotated[str, Form()] = "",
) -> Response:
    resources = {
        "cpus": number(cpus, "cpus"),
        "memoryMiB": number(memory_mib, "memoryMiB"),
        "maxProcesses": number(max_processes, "maxProcesses"),
        "diskMiB": number(disk_mib, "diskMiB"),
    }
    body = api_body(
        ConfigurationCreate,
        name=name.strip(),
        description=description.strip(),
        runtime=runtime.strip(),
        packages=lines(packages),
        resources={k: v for k, v in resources.items() if v is not None},
        maxEnvironments=number(max_environments, "maxEnvironments") or 1,
        whenBusy=when_busy,
        network=network,
        environmentVariables=environment_variables(variables),
    )
    record = store.configurations.create(caller.tenant_id, body.to_spec())
    return redirect(request, f"/configurations/{record.id}")


def environment_variables(text: str) -> dict[str, Any]:
    """`NAME=value` lines (the API checks the names and values)."""
    found: dict[str, Any] = {}
    for line in lines(text):
        name, equals, value = line.partition("=")
        if not equals:
            raise InvalidInput(f"environment variables: {line[:40]!r} is not NAME=value")
        found[name.strip()] = value
    return found
