"""The console's place in the service: its routes at `/`, its static files at `/static`."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jobmanager.console import (
    configurations,
    data,
    jobs,
    models,
    outputs,
    reruns,
    schedules,
    session,
    submit,
)


def mount_console(app: FastAPI) -> None:
    """Add the console's pages to the service's app (the API's paths stay as they are)."""
    static = resources.files("jobmanager.console") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    pages = (models.router, data.router, configurations.router, schedules.router)
    job_pages = (jobs.router, reruns.router, outputs.router, submit.router)
    for router in (session.router, *job_pages, *pages, models.uploads):
        app.include_router(router)
