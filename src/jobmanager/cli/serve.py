"""`jobmanager serve`: the service, on the embedded default unless configured otherwise."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer

from jobmanager.cli.common import configure_logging, console, fail, load_settings, open_services

log = logging.getLogger("jobmanager")


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env JOBMANAGER_HOST]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [env JOBMANAGER_PORT]")] = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="API only: do not fire schedules here")
    ] = False,
    example: Annotated[
        bool, typer.Option("--example", help="Once up, submit the example job and show it run")
    ] = False,
) -> None:
    """Run the service: API, scheduler and local job execution in one process."""
    # The server's modules load here, not at import: client commands start faster.
    import uvicorn

    from jobmanager.api.app import create_app
    from jobmanager.environments import IsolationUnavailable

    settings = load_settings(
        host=host, port=port, scheduler_enabled=False if no_scheduler else None
    )
    configure_logging(settings.log_level, settings.log_format)
    log.info("starting jobmanager with settings:")
    for name, value in settings.masked().items():
        log.info("  %s = %s", name, value)
    services = open_services(settings)
    credentials = services.ensure_dev_tenant()
    if credentials is not None:
        log.info("dev tenant credentials (client id and secret) are in %s", credentials)
    if example:
        if credentials is None:
            raise fail("--example needs the embedded default's dev tenant (JOBMANAGER_HOME)")
        _run_example_when_up(f"http://{settings.host}:{settings.port}", credentials)
    try:
        app = create_app(settings, services)
    except IsolationUnavailable as error:
        raise fail(f"jobs cannot be isolated here: {error}") from None
    log.info("listening on http://%s:%s (API docs at /docs)", settings.host, settings.port)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        # JSON logs: uvicorn's own lines go through the root logger's JSON handler too.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    server = uvicorn.Server(config)
    handle_exit = server.handle_exit

    def end_streams_then_exit(sig: int, frame: FrameType | None) -> None:
        """Uvicorn waits for open answers before it stops: end the event streams."""
        app.state.event_streams.closing.set()
        handle_exit(sig, frame)

    server.handle_exit = end_streams_then_exit  # type: ignore[method-assign]
    server.run()
    if not server.started:
        raise fail(f"the service could not start on {settings.host}:{settings.port}")


def _run_example_when_up(base_url: str, credentials: Path) -> None:
    """In the background: wait for the service to answer, then run the example job."""

    def run() -> None:
        for _ in range(300):
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        from jobmanager.example import run_example

        try:
            run_example(base_url, credentials, console)
        except Exception as error:
            log.error("the example job could not run: %s", error)
        console.print(
            f"The service keeps running on {base_url} (API docs at /docs); Ctrl+C stops it."
        )

    threading.Thread(target=run, name="example", daemon=True).start()
