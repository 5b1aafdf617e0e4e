"""`jobmanager serve`: the service, on the embedded default unless configured otherwise."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from jobmanager.api.app import create_app
from jobmanager.cli.common import configure_logging, load_settings
from jobmanager.services import Services

log = logging.getLogger("jobmanager")


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env JOBMANAGER_HOST]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env JOBMANAGER_PORT]")] = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="API only: do not fire schedules here")
    ] = False,
) -> None:
    """Run the service: API, scheduler and local job execution in one process."""
    settings = load_settings(
        host=host, port=port, scheduler_enabled=False if no_scheduler else None
    )
    configure_logging(settings.log_level)
    log.info("starting jobmanager with settings:")
    for name, value in settings.masked().items():
        log.info("  %s = %s", name, value)
    services = Services.open(settings)
    credentials = services.ensure_dev_tenant()
    if credentials is not None:
        log.info("dev tenant credentials (client id and secret) are in %s", credentials)
    app = create_app(settings, services)
    log.info("listening on http://%s:%s (API docs at /docs)", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
