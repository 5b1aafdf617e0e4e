"""What runs in the background of a service process: job slots, the reaper, the scheduler,
the notifier (webhook deliveries).

`Runtime.start()` is called by the app's lifespan; `stop()` on shutdown. Which parts
run is a matter of settings: with `dispatch=local` (the embedded default) this
process runs jobs in its own slots; with `dispatch=celery` it hands them to
`jobmanager worker` processes and sweeps waiting jobs so no lost message strands one
(re-sending only what is lost: store/sends.py).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from jobmanager.common.loops import Every
from jobmanager.dispatch.base import Dispatcher
from jobmanager.dispatch.local import LocalDispatcher
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.jobrun.environment_pool import EnvironmentPool, Isolation, open_isolation
from jobmanager.jobrun.job_runner import JobRunner
from jobmanager.service.notifier import Notifier
from jobmanager.service.reaper import Reaper
from jobmanager.service.scheduler import Scheduler
from jobmanager.startup.services import Services
from jobmanager.store.outages import database_away
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.runtime")
SWEEP_SECONDS = 5.0


class Runtime:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.job_runner: JobRunner | None = None
        self.dispatcher: Dispatcher
        if settings.dispatch == "celery":
            from jobmanager.dispatch.celery import CeleryDispatcher, celery_app

            self.dispatcher = CeleryDispatcher(celery_app(settings))
        else:
            self.job_runner = JobRunner(services, open_isolation(settings))
            self.dispatcher = LocalDispatcher(self.job_runner.worker, settings.job_slots)
        reaper_id = str(WorkerId.new(socket.gethostname(), os.getpid(), "reaper"))
        self.reaper = Reaper(services.store, settings, reaper_id)
        self.scheduler: Scheduler | None = None
        if settings.scheduler_enabled:
            self.scheduler = Scheduler(
                services.store, self.dispatcher, poll_seconds=settings.safety_poll_seconds
            )
        self.notifier: Notifier | None = None
        if settings.notifications_enabled:
            self.notifier = Notifier(
                services.store,
                settings.webhook_destinations,
                poll_seconds=settings.safety_poll_seconds,
            )
        self.sweeper = Every("sweeper", SWEEP_SECONDS, self._sweep, away=database_away)
        self._stopped = False

    @property
    def pool(self) -> EnvironmentPool | None:
        return self.job_runner.pool if self.job_runner is not None else None

    @property
    def isolation(self) -> Isolation | None:
        return self.job_runner.isolation if self.job_runner is not None else None

    def start(self) -> None:
        """Start every part; a part that fails stops those started before it (no
        environment outlives a start that failed), then the error goes on."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.services.store.space.watch()
        self.reaper.reap_once()
        if self.job_runner is not None:
            self.job_runner.start()
        else:
            self.sweeper.start()
        self.dispatcher.start()
        self.reaper.loop.start()
        if self.scheduler is not None:
            self.scheduler.start()
        if self.notifier is not None:
            self.notifier.start()

    def stop(self) -> None:
        """Stop every part, once (the app's shutdown and a failed start may both ask)."""
        if self._stopped:
            return
        self._stopped = True
        self.sweeper.stop()
        if self.notifier is not None:
            self.notifier.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.reaper.loop.stop()
        if self.job_runner is not None:
            self.job_runner.worker.shut_down()
        self.dispatcher.stop()
        if self.job_runner is not None:
            self.job_runner.stop()
        self.services.store.space.close()

    def _sweep(self) -> None:
        """Re-send what is provably lost (store/sends.py): a lost message must not strand
        a job, and a job whose message waits in the broker needs no other."""
        store = self.services.store
        sent_before = utcnow() - timedelta(seconds=self.services.settings.redispatch_seconds)
        lost = store.sends.resend(sent_before, self.dispatcher.queued() or 0)
        for done, job_id in enumerate(lost):
            try:
                self.dispatcher.dispatch(job_id)
            except Exception:
                store.sends.unsent(lost[done:])
                raise
        if lost:
            log.info("sent %d waiting jobs to the workers again", len(lost))
