"""`jobmanager schedules`: run a model by a cron expression."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobmanager.cli.configurations import configuration_id
from jobmanager.cli.dataexchange import folder_of
from jobmanager.cli.login import session
from jobmanager.cli.models import model_id
from jobmanager.cli.output import (
    JsonOption,
    print_json,
    print_table,
    say,
    show_resource,
)
from jobmanager.client import Schedule
from jobmanager.client.folders import is_path

app = typer.Typer(help="Schedules: jobs fired by a cron expression.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    model: Annotated[str, typer.Option("--model", "-m", help="Model id or name")],
    config: Annotated[str, typer.Option("--config", "-c", help="Configuration id or name")],
    input_folder: Annotated[str, typer.Option("--input", "-i", help="Input folder id or path")],
    output_folder: Annotated[str, typer.Option("--output", "-o", help="Output folder id or path")],
    cron: Annotated[
        str, typer.Option("--cron", help="Quartz `0 15 10 * * ?` or 5-field `15 10 * * *`")
    ],
    timeout: Annotated[int, typer.Option(help="Maximum execution time in seconds")] = 3600,
    json_: JsonOption = False,
) -> None:
    """Create a schedule; it is RUNNING (firing) at once."""
    with session() as api:
        made = api.create_schedule(
            name,
            model_id(api, model),
            configuration_id(api, config),
            folder_of(api, input_folder).id,
            folder_of(api, output_folder, create=is_path(output_folder)).id,
            cron,
            maximum_execution_time=timeout,
        )
    if json_:
        print_json(made)
    else:
        say(f"created schedule {made.name} ({made.id}), {made.status}")


@app.command("list")
def list_schedules(json_: JsonOption = False) -> None:
    """List the schedules."""
    with session() as api:
        schedules = list(api.iter_schedules())
    if json_:
        print_json(schedules)
        return
    print_table(
        ("id", "name", "status", "cron", "model", "created"),
        (
            (s.id, s.name, s.status, s.schedule_string, s.model_id, s.creation_date)
            for s in schedules
        ),
        "no schedules",
    )


def _fields(schedule: Schedule) -> list[tuple[str, Any]]:
    return [
        ("id", schedule.id),
        ("name", schedule.name),
        ("status", schedule.status),
        ("cron", schedule.schedule_string),
        ("model", schedule.model_id),
        ("configuration", schedule.configuration_id),
        ("input folder", schedule.input_folder_id),
        ("output folder", schedule.output_folder_id),
        ("time limit", f"{schedule.maximum_execution_time} s"),
        ("created", schedule.creation_date),
    ]


@app.command("show")
def show(schedule_id: str, json_: JsonOption = False) -> None:
    """Show one schedule."""
    with session() as api:
        show_resource(api.get_schedule(schedule_id), json_, _fields)


@app.command("start")
def start(schedule_id: str, json_: JsonOption = False) -> None:
    """Let a schedule fire again."""
    with session() as api:
        show_resource(api.start_schedule(schedule_id), json_, _fields)


@app.command("stop")
def stop(schedule_id: str, json_: JsonOption = False) -> None:
    """Stop a schedule from creating jobs."""
    with session() as api:
        show_resource(api.stop_schedule(schedule_id), json_, _fields)


@app.command("delete")
def delete(schedule_id: str) -> None:
    """Delete a schedule."""
    with session() as api:
        api.delete_schedule(schedule_id)
    say(f"deleted schedule {schedule_id}")
