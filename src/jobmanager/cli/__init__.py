"""The `jobmanager` command.

Each command's module loads only when that command runs: `jobmanager jobs list` imports
the client, not the server, the engine or the other commands, and `jobmanager --help`
lists the commands from the table below without importing any of them
(`tests/unit/test_cli_commands.py` keeps the table's lines equal to the commands' own).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer import _click as click  # the click typer builds on (it ships its own copy)
from typer.core import TyperCommand, TyperGroup

# name: (module under jobmanager.cli, its command function or Typer app, the help line)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": (
        "serve",
        "serve",
        "Run the service: API, scheduler and local job execution in one process.",
    ),
    "worker": (
        "worker",
        "worker",
        "Run jobs from the Celery broker (JOBMANAGER_BROKER_URL) until stopped.",
    ),
    "login": (
        "login",
        "login",
        "Check credentials against a server and save them for the other commands.",
    ),
    "run": ("run", "run", "Run a notebook on a local input folder and download its outputs."),
    "run-note": (
        "run_note",
        "run_note",
        "Run a Zeppelin note (or a Jupyter notebook) locally, as a job would; exit 0\n"
        "succeeded, 1 failed, 2 stopped or timed out.",
    ),
    "doctor": (
        "doctor",
        "doctor",
        "Check this configuration end to end: settings, database, broker, object store,\n"
        "sandbox, a trivial job.",
    ),
    "admin": ("admin", "app", "Manage tenants, credentials and keys."),
    "models": ("models", "app", "Models: notebooks (Zeppelin notes, Jupyter notebooks) jobs run."),
    "data": (
        "dataexchange",
        "app",
        "Data Exchange: folders and files (FOLDER = id or public/... path).",
    ),
    "configs": (
        "configurations",
        "app",
        "Environment configurations: Python packages, resources, limits.",
    ),
    "jobs": ("jobs", "app", "Jobs: run a model on an input folder, outputs to an output folder."),
    "schedules": (
        "schedules",
        "app",
        "Schedules: jobs fired by a cron expression or by files arriving in a folder.",
    ),
    "webhooks": (
        "webhooks",
        "app",
        "Webhooks: signed HTTP POSTs when jobs start, succeed, fail, stop or run long.",
    ),
}


def load_command(name: str) -> click.Command:
    """The click command of `name`, its module imported now."""
    module, attribute, _ = COMMANDS[name]
    target: Any = getattr(importlib.import_module(f"jobmanager.cli.{module}"), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer()
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """Commands loaded by name when run; listed from `COMMANDS` when help is shown."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="jobmanager", cls=LazyCommands, no_args_is_help=True, pretty_exceptions_enable=False
)


@app.callback()
def jobmanager() -> None:
    """Run notebook models (Zeppelin notes, Jupyter notebooks) as jobs."""


def main() -> None:
    app()
