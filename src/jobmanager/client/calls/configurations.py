"""`/api/prl/v3`: environment configurations and environments."""

from __future__ import annotations

from typing import Any

from jobmanager.client.call import Call, no_content, parse_as, parse_page
from jobmanager.client.calls import DEFAULT_PAGE_SIZE, given, page_params, segment
from jobmanager.client.types import Configuration, Environment, ListPage

BASE = "/api/prl/v3"


def create_configuration(
    name: str,
    *,
    description: str | None = None,
    runtime: str | None = None,
    packages: list[str] | None = None,
    cpus: float | None = None,
    memory_mib: int | None = None,
    max_environments: int | None = None,
    when_busy: str | None = None,
    network: str | None = None,
    network_allow: list[str] | None = None,
    environment_variables: dict[str, str] | None = None,
    max_processes: int | None = None,
    disk_mib: int | None = None,
    retry: dict[str, Any] | None = None,
) -> Call[Configuration]:
    """A new environment configuration; fields left out take the server's defaults
    (`max_environments`: 1). `retry` is its jobs' retry policy (docs/queues.md)."""
    resources = given(cpus=cpus, memoryMiB=memory_mib, maxProcesses=max_processes, diskMiB=disk_mib)
    body = given(
        name=name,
        description=description,
        runtime=runtime,
        packages=packages,
        resources=resources or None,
        maxEnvironments=max_environments,
        whenBusy=when_busy,
        network=network,
        networkAllow=network_allow,
        environmentVariables=environment_variables,
        retry=retry,
    )
    return Call("POST", f"{BASE}/configurations", parse_as(Configuration), json=body)


def list_configurations(
    *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Configuration]]:
    """One page of the tenant's configurations."""
    return Call(
        "GET",
        f"{BASE}/configurations",
        parse_page(Configuration, "configurations"),
        params=page_params(page_number, page_size),
    )


def get_configuration(configuration_id: str) -> Call[Configuration]:
    """One configuration."""
    return Call(
        "GET", f"{BASE}/configurations/{segment(configuration_id)}", parse_as(Configuration)
    )


def update_configuration(configuration_id: str, changes: dict[str, Any]) -> Call[Configuration]:
    """Change a configuration: `changes` holds API field names (`maxEnvironments`, ...)."""
    path = f"{BASE}/configurations/{segment(configuration_id)}"
    return Call("PATCH", path, parse_as(Configuration), json=changes)


def delete_configuration(configuration_id: str) -> Call[None]:
    """Delete a configuration."""
    return Call("DELETE", f"{BASE}/configurations/{segment(configuration_id)}", no_content)


def list_environments(
    *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Environment]]:
    """One page of the environments that exist now."""
    return Call(
        "GET",
        f"{BASE}/environments",
        parse_page(Environment, "environments"),
        params=page_params(page_number, page_size),
    )


def get_environment(environment_id: str) -> Call[Environment]:
    """One environment."""
    return Call("GET", f"{BASE}/environments/{segment(environment_id)}", parse_as(Environment))
