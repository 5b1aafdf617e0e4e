"""Cluster dispatch: a Celery message per job, run by `jobmanager worker` on any machine.

The message carries only the job id and is a turn, not an order: the worker claims the
next job of the fair order by compare-and-set, and goes on claiming while one can start
(`Worker.take_turn`), so a message whose job someone else ran costs a claim and nothing
more. A job's message is sent once; the sweep that the API replicas run re-sends only
what is provably lost (store/sends.py, `Runtime`).
"""

from __future__ import annotations

import logging

from celery import Celery

from jobmanager.dispatch.base import Dispatcher
from jobmanager.startup.settings import Settings

log = logging.getLogger("jobmanager.dispatch")
TASK = "jobmanager.run_job"


def celery_app(settings: Settings) -> Celery:
    if settings.broker_url is None:
        raise ValueError("JOBMANAGER_BROKER_URL is needed when JOBMANAGER_DISPATCH=celery")
    app = Celery("jobmanager", broker=settings.broker_url.get_secret_value())
    app.conf.update(
        task_default_queue=settings.queue_name,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
    )
    return app


class CeleryDispatcher(Dispatcher):
    def __init__(self, app: Celery) -> None:
        self.app = app
        self.queue: str = app.conf.task_default_queue

    def dispatch(self, job_id: str) -> None:
        self.app.send_task(TASK, args=[job_id], queue=self.queue)

    def queued(self) -> int | None:
        """Messages waiting in the broker's queue (None when the broker does not say)."""
        try:
            with self.app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1)  # a broker away: no answer
                declared = connection.default_channel.queue_declare(self.queue, passive=True)
                return int(declared.message_count)
        except Exception as error:  # an empty Redis queue does not exist: nothing queued
            log.debug("the broker did not say how long queue %s is: %s", self.queue, error)
            return None
