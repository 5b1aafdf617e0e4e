"""`jobmanager serve`: the service, on the embedded default unless configured otherwise."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from jobmanager.cli.common import (
    cli_home,
    configure_logging,
    console,
    fail,
    load_settings,
    open_services,
    require_extra,
)
from jobmanager.common.home import PRIVATE_UMASK, hold_serve_lock, make_private
from jobmanager.domain.destinations import LOOPBACK_NETWORKS

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from jobmanager.service.presence import Presence
    from jobmanager.startup.services import Services
    from jobmanager.startup.settings import Settings

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
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Run as the CLI's local service of this home: recorded in the home, "
            "stops when idle [env JOBMANAGER_LOCAL_IDLE_MINUTES]",
        ),
    ] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the local service of this home, if one runs")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Say whether the local service of this home runs")
    ] = False,
) -> None:
    """Run the service: API, scheduler and local job execution in one process."""
    if stop or status:
        manage_local_service(stop)
        return
    # The server's modules load here, not at import: client commands start faster.
    from jobmanager.cli.serve_port import PortUnavailable, bind
    from jobmanager.jobrun.environment_pool import IsolationUnavailable
    from jobmanager.web.app import create_app

    settings = load_settings(
        host=host, port=port, scheduler_enabled=False if no_scheduler else None
    )
    configure_logging(settings.log_level, settings.log_format)
    require_extra(settings)
    unguarded = settings.unguarded_metrics()
    if unguarded is not None:
        raise fail(unguarded)
    if local and "webhook_allowed_networks" not in settings.model_fields_set:
        # The CLI's local service has one user, the machine's: its receivers may be local.
        settings.webhook_allowed_networks = list(LOOPBACK_NETWORKS)
    _claim_home(settings.home)
    try:  # first: a port in use ends the start before anything runs
        listener = bind(settings.host, settings.port)
    except PortUnavailable as error:
        raise fail(str(error)) from None
    log.info("starting jobmanager with settings:")
    for name, value in settings.masked().items():
        log.info("  %s = %s", name, value)
    log.info(settings.webhook_destinations.describe())
    services = open_services(settings)
    sealed = services.store.webhooks.seal_plain_secrets()  # stored before secrets were sealed
    if sealed:
        log.info("sealed %d webhook secrets stored in clear by an older version", sealed)
    credentials = services.ensure_dev_tenant()
    if credentials is not None:
        log.info("dev tenant credentials (client id and secret) are in %s", credentials)
    if example and credentials is None:
        raise fail("--example needs the embedded default's dev tenant (JOBMANAGER_HOME)")
    try:
        app = create_app(settings, services)
    except IsolationUnavailable as error:
        raise fail(f"jobs cannot be isolated here: {error}") from None
    log.info(
        "listening on http://%s:%s (the console at /, API docs at /docs)",
        settings.host,
        settings.port,
    )
    presence = _present(services)
    try:
        _run_server(settings, services, app, listener, local, credentials, example)
    finally:
        if presence is not None:
            presence.stop()


def _present(services: Services) -> Presence | None:
    """A replica of a cluster (not the embedded default) says it is alive, with its
    signing key's id and public URL, for `doctor` to compare (`service/presence.py`)."""
    from jobmanager.service.presence import Presence, replica

    settings = services.settings
    if settings.is_embedded:
        return None
    member = replica(services.tokens.keys.current.kid, settings.public_url)
    presence = Presence(services.store.members, member, settings.heartbeat_timeout_seconds)
    presence.start()
    return presence


def _claim_home(home: Path) -> None:
    """Make the home private, everything this process writes the user's only (the database,
    its WAL, blobs, logs), and mark the home in use while it lives (`home.in_use`)."""
    for path in make_private(home):
        log.warning(
            "%s cannot be made private (not this user's, or a read-only mount): others may "
            "read it (see its mode)",
            path,
        )
    os.umask(PRIVATE_UMASK)
    hold_serve_lock(home)


def _run_server(
    settings: Settings,
    services: Services,
    app: FastAPI,
    listener: socket.socket,
    local: bool,
    credentials: Path | None,
    example: bool,
) -> None:
    """Serve `app` on `listener` until SIGTERM (or, as the local service, an idle spell)
    stops it. With the dev tenant's `credentials` (the embedded default), the service is
    recorded in its home for the CLI to find; with `example`, the example job runs once
    it serves."""
    import uvicorn

    from jobmanager.cli.serve_local import Activity, LocalRole

    activity = Activity(app) if local else None
    config = uvicorn.Config(
        activity or app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        # Who calls is the connection's peer (sign-in limits count by it), unless the
        # operator names the proxies whose X-Forwarded-For to believe.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        # JSON logs: uvicorn's own lines go through the root logger's JSON handler too.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    server = uvicorn.Server(config)
    handle_exit = server.handle_exit
    url = f"http://{settings.host}:{settings.port}"
    role = None
    if activity is not None or credentials is not None:
        role = LocalRole(settings.home, url, services.store, activity, settings.local_idle_minutes)

    def stopping() -> None:
        """Uvicorn waits for open answers before it stops: end the event streams. The
        service's record goes first, so no command picks a service on its way out."""
        if role is not None:
            role.close()
        app.state.event_streams.closing.set()

    def end_streams_then_exit(sig: int, frame: FrameType | None) -> None:
        stopping()
        handle_exit(sig, frame)  # uvicorn raises the signal again once stopped

    def stop_when_idle() -> None:
        stopping()
        server.should_exit = True

    server.handle_exit = end_streams_then_exit  # type: ignore[method-assign]
    if role is not None:
        role.start(lambda: server.started, stop_when_idle)
    if example and credentials is not None:
        _run_example_when_up(server, url, credentials)
    try:
        server.run(sockets=[listener])
    except SystemExit:  # uvicorn's way out of a failed start (its log said why)
        pass
    finally:
        if role is not None:
            role.close()
        listener.close()
        app.state.runtime.stop()  # a start that failed half-way leaves no environment
    if not server.started:
        raise fail(f"the service could not start on {settings.host}:{settings.port}")


def _serving(server: uvicorn.Server) -> bool:
    return bool(server.started) and not server.should_exit


def _run_example_when_up(server: uvicorn.Server, base_url: str, credentials: Path) -> None:
    """In the background: once `server` serves, run the example job; then say that the
    service keeps running only while it does."""

    def run() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        from jobmanager.cli.example import run_example

        try:
            run_example(base_url, credentials, console)
        except Exception as error:
            if not _serving(server):
                return  # stopped meanwhile: the job's end is the service's, not the example's
            log.error("the example job could not run: %s", error)
        if _serving(server):
            console.print(
                f"The service keeps running: open {base_url} for the console (sign in with "
                f"the client id and secret in {credentials}); API docs at /docs. Ctrl+C "
                "stops it."
            )

    threading.Thread(target=run, name="example", daemon=True).start()


def manage_local_service(stop: bool) -> None:
    """`serve --stop` and `serve --status`: the local service of this home (`--status`
    names a `jobmanager serve` of the home run by hand too; `--stop` leaves that one)."""
    from jobmanager.cli import local_service

    home = cli_home()
    if stop:
        stopped = local_service.stop(home)
        if stopped is None:
            console.print(f"no local service runs for {home}", soft_wrap=True)
        else:
            console.print(f"stopped the local service of {home} (pid {stopped.pid})")
        return
    found = local_service.find(home)
    if found is None:
        console.print(f"no local service runs for {home}", soft_wrap=True)
        raise typer.Exit(3)
    kind = "local service" if local_service.is_local_service(found.pid) else "service (by hand)"
    console.print(f"{kind} of {home}: pid {found.pid}, {found.url}", soft_wrap=True)
