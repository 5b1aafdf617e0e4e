"""`jobmanager schedules`: run a model by a cron expression, or when files arrive."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobmanager.cli.configurations import configuration_id
from jobmanager.cli.dataexchange import folder_of
from jobmanager.cli.login import session
from jobmanager.cli.models import model_id
from jobmanager.cli.output import (
    JsonOption,
    TimeoutOption,
    error,
    print_json,
    print_table,
    say,
    show_resource,
)
from jobmanager.client import Firing, Schedule, Trigger
from jobmanager.client.folders import is_path

app = typer.Typer(
    help="Schedules: jobs fired by a cron expression or by files arriving in a folder.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    name: str,
    model: Annotated[str, typer.Option("--model", "-m", help="Model id or name")],
    config: Annotated[str, typer.Option("--config", "-c", help="Configuration id or name")],
    input_folder: Annotated[str, typer.Option("--input", "-i", help="Input folder id or path")],
    output_folder: Annotated[str, typer.Option("--output", "-o", help="Output folder id or path")],
    cron: Annotated[
        str | None,
        typer.Option("--cron", help="Quartz `0 15 10 * * ?` or 5-field `15 10 * * *`"),
    ] = None,
    on_files_in: Annotated[
        str | None,
        typer.Option("--on-files-in", help="Fire when files arrive in this folder (id or path)"),
    ] = None,
    pattern: Annotated[
        str, typer.Option(help="With --on-files-in: the file names that count (a glob)")
    ] = "*",
    debounce: Annotated[
        int, typer.Option(help="With --on-files-in: fire once no file came for this many s")
    ] = 0,
    timeout: TimeoutOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a schedule (--cron, or --on-files-in); it is RUNNING (firing) at once."""
    if (cron is None) == (on_files_in is None):
        error("give exactly one of --cron and --on-files-in")
    with session() as api:
        trigger = None
        if on_files_in is not None:
            watched = folder_of(api, on_files_in).id
            trigger = Trigger(folder_id=watched, pattern=pattern, debounce_seconds=debounce)
        made = api.create_schedule(
            name,
            model_id(api, model),
            configuration_id(api, config),
            folder_of(api, input_folder).id,
            folder_of(api, output_folder, create=is_path(output_folder)).id,
            cron,
            trigger=trigger,
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
        ("id", "name", "status", "fires", "model", "created"),
        ((s.id, s.name, s.status, _fires(s), s.model_id, s.creation_date) for s in schedules),
        "no schedules",
    )


def _fires(schedule: Schedule) -> str:
    """What fires it: the cron string, or the trigger's folder and pattern."""
    trigger = schedule.trigger
    if trigger is None:
        return schedule.schedule_string
    debounce = f" after {trigger.debounce_seconds} s quiet" if trigger.debounce_seconds else ""
    return f"files {trigger.pattern} in {trigger.folder_id}{debounce}"


def _fields(schedule: Schedule) -> list[tuple[str, Any]]:
    return [
        ("id", schedule.id),
        ("name", schedule.name),
        ("status", schedule.status),
        ("fires on", _fires(schedule)),
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


@app.command("firings")
def firings(schedule_id: str, json_: JsonOption = False) -> None:
    """List a schedule's firings (newest first) and the files that fired them."""
    with session() as api:
        fired = list(api.iter_firings(schedule_id))
    if json_:
        print_json(fired)
        return
    print_table(
        ("fire time", "outcome", "job", "files", "reason"),
        ((f.fire_time, f.outcome, f.job_id or "", _names(f), f.reason) for f in fired),
        "no firings",
    )


def _names(firing: Firing) -> str:
    return ", ".join(str(file["name"]) for file in firing.files)


@app.command("delete")
def delete(schedule_id: str) -> None:
    """Delete a schedule."""
    with session() as api:
        api.delete_schedule(schedule_id)
    say(f"deleted schedule {schedule_id}")
