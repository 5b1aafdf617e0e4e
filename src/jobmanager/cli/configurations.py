"""`jobmanager configs`: environment configurations (what a job's environment is made of)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobmanager.cli.login import session
from jobmanager.cli.output import (
    JsonOption,
    error,
    print_json,
    print_table,
    say,
    show_resource,
)
from jobmanager.cli.retry_options import (
    BackoffMaxOption,
    BackoffOption,
    RetriesOption,
    RetryOnOption,
    retry_policy,
)
from jobmanager.client import Client, Configuration
from jobmanager.client.calls import given

app = typer.Typer(
    help="Environment configurations: Python packages, resources, limits.", no_args_is_help=True
)


def key_values(items: list[str], option: str) -> dict[str, str]:
    """`k=v` strings as a dict; a malformed one is a one-line error naming the option."""
    values: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            error(f"{option} expects key=value, got {item!r}")
        values[key] = value
    return values


def configuration_id(api: Client, text: str) -> str:
    """A configuration named by id or by name."""
    for configuration in api.iter_configurations():
        if text in (configuration.id, configuration.name):
            return configuration.id
    error(f"configuration {text!r} not found", "See `jobmanager configs list`")


CpusOption = Annotated[float | None, typer.Option(help="CPU limit (cores, e.g. 1.5)")]
MemoryOption = Annotated[int | None, typer.Option("--memory", help="Memory limit in MiB")]
ProcessesOption = Annotated[
    int | None, typer.Option("--max-processes", help="Processes and threads at most")
]
DiskOption = Annotated[
    int | None, typer.Option("--disk", help="Disk limit of its work folder and /tmp, MiB")
]
WhenBusyOption = Annotated[
    str | None,
    typer.Option(help="queue (the job waits) or fail, when all its environments are in use"),
]
NetworkOption = Annotated[
    str | None, typer.Option(help="allowed or none (its own loopback only) [default: none]")
]
NetworkAllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--network-allow",
        help="A named destination of the service its jobs may reach (repeatable)",
    ),
]
EnvOption = Annotated[
    list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE variable (repeatable)")
]


@app.command("create")
def create(
    name: str,
    description: Annotated[str | None, typer.Option(help="Description")] = None,
    runtime: Annotated[str | None, typer.Option(help="e.g. python3 or python3.11")] = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="pip requirement (repeatable)")
    ] = None,
    cpus: CpusOption = None,
    memory: MemoryOption = None,
    max_processes: ProcessesOption = None,
    disk: DiskOption = None,
    max_environments: Annotated[
        int | None,
        typer.Option(help="Environments (so jobs) of this configuration at once [default: 1]"),
    ] = None,
    when_busy: WhenBusyOption = None,
    network: NetworkOption = None,
    network_allow: NetworkAllowOption = None,
    env: EnvOption = None,
    retries: RetriesOption = None,
    retry_on: RetryOnOption = None,
    retry_wait: BackoffOption = None,
    retry_wait_max: BackoffMaxOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a configuration."""
    variables = key_values(env or [], "--env") or None
    retry = retry_policy(retries, retry_on, retry_wait, retry_wait_max)
    with session() as api:
        made = api.create_configuration(
            name,
            description=description,
            runtime=runtime,
            packages=package,
            cpus=cpus,
            memory_mib=memory,
            max_processes=max_processes,
            disk_mib=disk,
            max_environments=max_environments,
            when_busy=when_busy,
            network=network,
            network_allow=network_allow,
            environment_variables=variables,
            retry=retry,
        )
    if json_:
        print_json(made)
    else:
        say(f"created configuration {made.name} ({made.id})")


@app.command("update")
def update(
    configuration: Annotated[str, typer.Argument(help="Configuration id or name")],
    name: Annotated[str | None, typer.Option(help="A new name")] = None,
    description: Annotated[str | None, typer.Option(help="A new description")] = None,
    runtime: Annotated[str | None, typer.Option(help="e.g. python3 or python3.11")] = None,
    package: Annotated[
        list[str] | None,
        typer.Option("--package", "-p", help="pip requirement (repeatable): replaces them all"),
    ] = None,
    no_packages: Annotated[
        bool, typer.Option("--no-packages", help="No packages: the service's own Python")
    ] = False,
    cpus: CpusOption = None,
    memory: MemoryOption = None,
    max_processes: ProcessesOption = None,
    disk: DiskOption = None,
    max_environments: Annotated[
        int | None, typer.Option(help="Environments (so jobs) of this configuration at once")
    ] = None,
    when_busy: WhenBusyOption = None,
    network: NetworkOption = None,
    network_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--network-allow",
            help="A named destination of the service its jobs may reach (repeatable): "
            "replaces them all",
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="KEY=VALUE variable (repeatable): replaces them all"),
    ] = None,
    retries: RetriesOption = None,
    retry_on: RetryOnOption = None,
    retry_wait: BackoffOption = None,
    retry_wait_max: BackoffMaxOption = None,
    json_: JsonOption = False,
) -> None:
    """Change a configuration: only the options given change (limits not named keep their
    values). Jobs that start from now on use it."""
    changes = given(
        name=name,
        description=description,
        runtime=runtime,
        packages=[] if no_packages else package,
        maxEnvironments=max_environments,
        whenBusy=when_busy,
        network=network,
        networkAllow=network_allow,
        environmentVariables=key_values(env, "--env") if env is not None else None,
        retry=retry_policy(retries, retry_on, retry_wait, retry_wait_max),
    )
    limits = given(cpus=cpus, memoryMiB=memory, maxProcesses=max_processes, diskMiB=disk)
    with session() as api:
        found = api.get_configuration(configuration_id(api, configuration))
        if limits:  # the API replaces every limit at once: keep those not named
            changes["resources"] = {**_limits(found), **limits}
        if not changes:
            error("nothing to change", "Name what changes, e.g. --memory 2048 (see --help)")
        changed = api.update_configuration(found.id, changes)
    if json_:
        print_json(changed)
    else:
        say(f"updated configuration {changed.name} ({changed.id})")


def _limits(found: Configuration) -> dict[str, Any]:
    resources = found.resources
    return given(
        cpus=resources.cpus,
        memoryMiB=resources.memory_mib,
        maxProcesses=resources.max_processes,
        diskMiB=resources.disk_mib,
    )


@app.command("list")
def list_configurations(json_: JsonOption = False) -> None:
    """List the configurations."""
    with session() as api:
        configurations = list(api.iter_configurations())
    if json_:
        print_json(configurations)
        return
    print_table(
        ("id", "name", "runtime", "packages", "max envs", "when busy", "created"),
        (
            (
                c.id,
                c.name,
                c.runtime,
                len(c.packages),
                c.max_environments,
                c.when_busy,
                c.creation_date,
            )
            for c in configurations
        ),
        "no configurations",
    )


def _fields(c: Configuration) -> list[tuple[str, Any]]:
    return [
        ("id", c.id),
        ("name", c.name),
        ("description", c.description),
        ("runtime", c.runtime),
        ("packages", ", ".join(c.packages) or "(the service's Python)"),
        ("cpus", c.resources.cpus),
        ("memory MiB", c.resources.memory_mib),
        ("max processes", c.resources.max_processes),
        ("disk MiB", c.resources.disk_mib),
        ("max environments", c.max_environments),
        ("when busy", c.when_busy),
        ("network", c.network),
        ("network allows", _allowances(c)),
        ("variables", ", ".join(f"{k}={v}" for k, v in c.environment_variables.items())),
        ("retry", c.retry or ""),
        ("created", c.creation_date),
    ]


def _allowances(c: Configuration) -> str:
    if c.egress is None or c.network == "none":
        return "-"
    found = [f"{a.destination} ({a.name})" if a.name else a.destination for a in c.egress.allowed]
    return ", ".join(found) or "public addresses only"


@app.command("show")
def show(
    configuration: Annotated[str, typer.Argument(help="Configuration id or name")],
    json_: JsonOption = False,
) -> None:
    """Show one configuration."""
    with session() as api:
        found = api.get_configuration(configuration_id(api, configuration))
    show_resource(found, json_, _fields)


@app.command("delete")
def delete(
    configuration: Annotated[str, typer.Argument(help="Configuration id or name")],
) -> None:
    """Delete a configuration."""
    with session() as api:
        api.delete_configuration(configuration_id(api, configuration))
    say(f"deleted configuration {configuration}")


@app.command("environments")
def environments(json_: JsonOption = False) -> None:
    """List the environments that exist now, and the job each serves."""
    with session() as api:
        found = list(api.iter_environments())
    if json_:
        print_json(found)
        return
    print_table(
        ("id", "configuration", "status", "job", "created"),
        ((e.id, e.configuration_id, e.status, e.job_id, e.creation_date) for e in found),
        "no environments",
    )
