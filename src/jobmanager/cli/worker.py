"""`jobmanager worker`: runs jobs handed out through Celery, on this machine."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from jobmanager.cli.common import configure_logging, fail, load_settings

log = logging.getLogger("jobmanager")


def worker(
    slots: Annotated[
        int | None, typer.Option(help="Jobs at once [env JOBMANAGER_JOB_SLOTS]")
    ] = None,
) -> None:
    """Run jobs from the Celery broker (JOBMANAGER_BROKER_URL) until stopped."""
    settings = load_settings(job_slots=slots, dispatch="celery")
    configure_logging(settings.log_level)
    if settings.broker_url is None:
        raise fail("set JOBMANAGER_BROKER_URL to the Celery broker, e.g. redis://host:6379/0")
    # Loaded here, not at import: client commands start faster; celery is an extra.
    from jobmanager.dispatch.celery import TASK, celery_app
    from jobmanager.environments import EnvironmentPool, IsolationUnavailable, open_isolation
    from jobmanager.services import Services
    from jobmanager.worker import Worker

    try:
        isolation = open_isolation(settings)
    except IsolationUnavailable as error:
        raise fail(str(error)) from None
    log.info(isolation.describe())
    services = Services.open(settings)
    warm = settings.job_slots if settings.warm_environments is None else settings.warm_environments
    pool = EnvironmentPool(capacity=warm)
    runner = Worker(services.store, settings, pool, isolation)
    app = celery_app(settings)
    app.task(name=TASK, ignore_result=True)(runner.run_job)
    runner.start()
    log.info("worker %s taking jobs with %d slots", runner.worker_id, settings.job_slots)
    try:
        app.Worker(
            concurrency=settings.job_slots, pool="threads", loglevel=settings.log_level
        ).start()
    finally:
        runner.stop()
        pool.close()
        services.close()
