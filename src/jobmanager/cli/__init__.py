"""The `jobmanager` command.

Each command's module loads only when that command runs: `jobmanager jobs list` imports
the client, not the server, the engine or the other commands, and `jobmanager --help`
lists the commands from the table below without importing any of them
(`tests/unit/test_cli_commands.py` keeps the table's lines equal to the commands' own).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import typer
from typer import _click as click  # the click typer builds on (it ships its own copy)
from typer.core import TyperCommand, TyperGroup

COMPLETION_OPTIONS = ("install_completion", "show_completion")

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
        "Run a Zeppelin note (or a Jupyter notebook) locally, as a job would; exit 0 "
        "succeeded, 1 failed, 2 stopped or timed out.",
    ),
    "doctor": (
        "doctor",
        "doctor",
        "Check this configuration end to end: settings, database, broker, object store, "
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
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    plain_help(command)
    return command


def first_paragraph(text: str) -> str:
    """A help text's first paragraph as one line: what a list of commands shows."""
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


def plain_help(command: click.Command) -> None:
    """Help as click lays it out, for `command` and the commands under it: wrapped at the
    terminal's width, never an option name or a sentence cut short (Rich's panels cut
    option names at 80 columns and read `[default: ...]` in a help text as markup). A
    group lists each command's whole first paragraph. The shell-completion options
    belong to `jobmanager` itself, not to each command."""
    command.rich_markup_mode = None  # type: ignore[attr-defined]
    command.params = [p for p in command.params if p.name not in COMPLETION_OPTIONS]
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if sub.short_help is None and sub.help:
                sub.short_help = first_paragraph(sub.help)
            plain_help(sub)


class LazyCommands(TyperGroup):
    """Commands loaded by name when run; listed from `COMMANDS` when help is shown."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:
            line = COMMANDS[cmd_name][2]
            return TyperCommand(cmd_name, help=line, short_help=line)
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="jobmanager",
    cls=LazyCommands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # see `plain_help`
)


@app.callback()
def jobmanager() -> None:
    """Run notebook models (Zeppelin notes, Jupyter notebooks) as jobs."""


def main() -> None:
    app()
