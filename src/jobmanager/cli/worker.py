"""`jobmanager worker`: runs jobs handed out through Celery, on this machine."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from jobmanager.cli.common import configure_logging, fail, load_settings, open_services

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from jobmanager.environments import EnvironmentPool

log = logging.getLogger("jobmanager")


def worker(
    slots: Annotated[
        int | None, typer.Option(help="Jobs at once [env JOBMANAGER_JOB_SLOTS]")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Serve this worker's metrics at http://HOST:PORT/metrics"
        ),
    ] = None,
) -> None:
    """Run jobs from the Celery broker (JOBMANAGER_BROKER_URL) until stopped."""
    settings = load_settings(job_slots=slots, dispatch="celery")
    configure_logging(settings.log_level, settings.log_format)
    if settings.broker_url is None:
        raise fail("set JOBMANAGER_BROKER_URL to the Celery broker, e.g. redis://host:6379/0")
    # Loaded here, not at import: client commands start faster; celery is an extra.
    from jobmanager.dispatch.celery import TASK, celery_app
    from jobmanager.environments import EnvironmentPool, IsolationUnavailable, open_isolation
    from jobmanager.worker import Worker

    try:
        isolation = open_isolation(settings)
    except IsolationUnavailable as error:
        raise fail(str(error)) from None
    isolation.announce(log)
    services = open_services(settings)
    pool = EnvironmentPool(capacity=settings.warm_pool_size)
    runner = Worker(services.store, settings, pool, isolation)
    app = celery_app(settings)
    app.conf.worker_hijack_root_logger = settings.log_format != "json"  # keep our JSON lines
    app.task(name=TASK, ignore_result=True)(runner.take_turn)
    runner.start()
    log.info("worker %s taking jobs with %d slots", runner.worker_id, settings.job_slots)
    metrics = None if metrics_port is None else serve_metrics(metrics_port, settings.host, pool)
    try:
        app.Worker(
            # One node name per process: Celery's default (celery@host) is shared by the
            # workers of one host, whose control queues then lock each other out.
            hostname=f"jobmanager-{os.getpid()}@{socket.gethostname()}",
            concurrency=settings.job_slots,
            pool="threads",
            loglevel=settings.log_level,
        ).start()
    finally:
        if metrics is not None:
            metrics.shutdown()
        runner.stop()
        pool.close()
        services.close()


def serve_metrics(port: int, host: str, pool: EnvironmentPool) -> WSGIServer:
    """This process's metrics (phases, warm environments, blob bytes) on their own port;
    the database's gauges are the API's (docs/observability.md)."""
    from prometheus_client import start_http_server

    from jobmanager.api.metrics import metrics_registry

    server, _thread = start_http_server(port, host, registry=metrics_registry(None, pool))
    log.info("worker metrics at http://%s:%d/metrics", host, port)
    return server
