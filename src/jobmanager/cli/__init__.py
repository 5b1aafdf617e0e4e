"""The `jobmanager` command."""

from __future__ import annotations

import typer

from jobmanager.cli import admin, serve, worker

app = typer.Typer(
    name="jobmanager",
    help="Run notebook models (Zeppelin notes, Jupyter notebooks) as jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(admin.app, name="admin")


def main() -> None:
    app()
