"""`jobmanager worker`: runs jobs handed out through Celery, on this machine."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobmanager.cli.common import (
    configure_logging,
    fail,
    load_settings,
    open_services,
    require_extra,
)

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from celery import Celery
    from pydantic import SecretStr

    from jobmanager.jobrun.environment_pool import EnvironmentPool
    from jobmanager.startup.settings import Settings

log = logging.getLogger("jobmanager")


def worker(
    slots: Annotated[
        int | None, typer.Option(help="Jobs at once [env JOBMANAGER_JOB_SLOTS]")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this worker's metrics at http://WORKER_METRICS_HOST:PORT/metrics "
            "(beyond loopback: with JOBMANAGER_METRICS_TOKEN) [env "
            "JOBMANAGER_WORKER_METRICS_PORT]",
        ),
    ] = None,
) -> None:
    """Run jobs from the Celery broker (JOBMANAGER_BROKER_URL) until stopped."""
    settings = load_settings(job_slots=slots, dispatch="celery", worker_metrics_port=metrics_port)
    configure_logging(settings.log_level, settings.log_format)
    require_extra(settings)
    if settings.broker_url is None:
        raise fail("set JOBMANAGER_BROKER_URL to the Celery broker, e.g. redis://host:6379/0")
    metrics_port = settings.worker_metrics_port
    unguarded = settings.unguarded_worker_metrics()
    if metrics_port is not None and unguarded is not None:
        raise fail(unguarded)
    # Loaded here, not at import: client commands start faster; celery is an extra.
    from celery.signals import worker_shutting_down

    from jobmanager.dispatch.celery import TASK, celery_app
    from jobmanager.jobrun.environment_pool import IsolationUnavailable, open_isolation
    from jobmanager.jobrun.job_runner import JobRunner
    from jobmanager.service.presence import Presence
    from jobmanager.service.presence import worker as present_as

    try:
        isolation = open_isolation(settings)
    except IsolationUnavailable as error:
        raise fail(str(error)) from None
    services = open_services(settings)
    job_runner = JobRunner(services, isolation)
    runner, pool = job_runner.worker, job_runner.pool
    app = celery_app(settings)
    app.task(name=TASK, ignore_result=True)(runner.take_turn)
    quiet_celery(app, settings)
    # Celery's warm shutdown waits for the running jobs: they end, no next one starts.
    worker_shutting_down.connect(lambda **_: runner.take_no_more(), weak=False)
    services.store.space.watch()
    presence = Presence(
        services.store.members, present_as(runner.worker_id), settings.heartbeat_timeout_seconds
    )
    metrics = None
    try:  # a start that fails half-way leaves no environment either
        job_runner.start()  # removes what an earlier worker of this home left, pre-warms
        presence.start()
        log.info("worker %s taking jobs with %d slots", runner.worker_id, settings.job_slots)
        metrics = None if metrics_port is None else serve_metrics(metrics_port, settings, pool)
        app.Worker(
            # One node name per process: Celery's default (celery@host) is shared by the
            # workers of one host, whose control queues then lock each other out.
            hostname=f"jobmanager-{os.getpid()}@{socket.gethostname()}",
            concurrency=settings.job_slots,
            pool="threads",
            loglevel=settings.log_level,
            quiet=settings.log_format == "json",  # its banner is not a log line
        ).start()
    finally:
        if metrics is not None:
            metrics.shutdown()
        presence.stop()
        job_runner.stop()
        services.store.space.close()
        services.close()


def quiet_celery(app: Celery, settings: Settings) -> None:
    """Celery logs through our handlers (JSON lines with `json`), its warnings too, and
    its lines per message ("Task ... received", "... succeeded") only at DEBUG."""
    app.conf.worker_hijack_root_logger = False
    logging.captureWarnings(True)
    if settings.log_level != "DEBUG":
        for chatty in ("celery.worker.strategy", "celery.app.trace"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if settings.log_format == "json":
        import celery.apps.worker

        # What its signal handlers print ("worker: Warm shutdown"), bypassing logging.
        celery.apps.worker.safe_say = say_as_json


def say_as_json(message: str, stream: object = None) -> None:
    """A line Celery says from a signal handler, as a JSON log line: written straight
    to stderr as Celery does (a handler's lock may be held by the code it interrupted)."""
    from jobmanager.common.logs import JsonFormatter

    del stream
    record = logging.LogRecord(
        "celery.worker", logging.INFO, __file__, 0, message.strip(), None, None
    )
    with contextlib.suppress(OSError):  # as Celery's own: a lost line must not stop it
        os.write(2, (JsonFormatter().format(record) + "\n").encode())


def serve_metrics(port: int, settings: Settings, pool: EnvironmentPool) -> WSGIServer:
    """This process's metrics (phases, warm environments, blob bytes) on their own port,
    behind the metrics token when there is one; the database's gauges are the API's
    (docs/observability.md)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    from jobmanager.api.metrics_registry import metrics_registry

    host = settings.worker_metrics_host

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    app = guarded(make_wsgi_app(metrics_registry(None, pool)), settings.metrics_token)
    server = make_server(host, port, app, Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("worker metrics at http://%s:%d/metrics", host, port)
    return server


def guarded(app: WSGIApplication, token: SecretStr | None) -> WSGIApplication:
    """`app`, answering only requests that carry the metrics token (all, without one)."""
    from jobmanager.api.errors import CODE_OF_STATUS
    from jobmanager.api.metrics_registry import TOKEN_WANTED, token_matches

    def guard(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if token_matches(token, environ.get("HTTP_AUTHORIZATION", "")):
            return app(environ, start_response)
        error = {"code": CODE_OF_STATUS[401], "logref": uuid.uuid4().hex}
        body = json.dumps({"errors": [{**error, "message": TOKEN_WANTED}]}).encode()
        headers = [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")]
        start_response("401 Unauthorized", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return guard
