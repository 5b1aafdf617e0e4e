"""The `jobmanager` command."""

from __future__ import annotations

import typer

from jobmanager.cli import (
    admin,
    configurations,
    dataexchange,
    doctor,
    jobs,
    login,
    models,
    run,
    run_note,
    schedules,
    serve,
    worker,
)

app = typer.Typer(
    name="jobmanager",
    help="Run notebook models (Zeppelin notes, Jupyter notebooks) as jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("doctor")(doctor.doctor)
app.add_typer(admin.app, name="admin")
app.command("login")(login.login)
app.command("run")(run.run)
app.command("run-note")(run_note.run_note)
app.add_typer(models.app, name="models")
app.add_typer(dataexchange.app, name="data")
app.add_typer(configurations.app, name="configs")
app.add_typer(jobs.app, name="jobs")
app.add_typer(schedules.app, name="schedules")


def main() -> None:
    app()
