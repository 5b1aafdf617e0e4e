"""Cluster dispatch: a Celery message per job, run by `jobmanager worker` on any machine.

The message carries only the job id. The worker claims the job by compare-and-set,
so a duplicate message is dropped; a lost one is re-sent by the sweep that the API
replicas run over jobs left `SUBMITTED` (see `Runtime`).
"""

from __future__ import annotations

from celery import Celery

from jobmanager.dispatch.base import Dispatcher
from jobmanager.startup.settings import Settings

TASK = "jobmanager.run_job"
QUEUE = "jobmanager.jobs"


def celery_app(settings: Settings) -> Celery:
    if settings.broker_url is None:
        raise ValueError("JOBMANAGER_BROKER_URL is needed when JOBMANAGER_DISPATCH=celery")
    app = Celery("jobmanager", broker=settings.broker_url.get_secret_value())
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
    )
    return app


class CeleryDispatcher(Dispatcher):
    def __init__(self, app: Celery) -> None:
        self.app = app

    def dispatch(self, job_id: str) -> None:
        self.app.send_task(TASK, args=[job_id], queue=QUEUE)
