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
import threading
from datetime import timedelta

from jobmanager.common.loops import Every
from jobmanager.dispatch.base import Dispatcher
from jobmanager.dispatch.local import LocalDispatcher
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.jobrun.environment_pool import (
    EnvironmentPool,
    Isolation,
    open_isolation,
    prepare_seed,
    remove_orphans,
    spec_for,
)
from jobmanager.jobrun.worker import Worker
from jobmanager.service.notifier import Notifier
from jobmanager.service.reaper import Reaper
from jobmanager.service.scheduler import Scheduler
from jobmanager.startup.services import Services
from jobmanager.store.outages import database_away
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.runtime")
SWEEP_SECONDS = 5.0


class _DefaultConfiguration:
    """The configuration with every default: what most jobs ask for, so it is pre-warmed."""

    memory_mib: int | None = None
    max_processes: int | None = None
    disk_mib: int | None = None
    cpus: float | None = None
    environment_variables: dict[str, str] = {}
    runtime = "python3"
    packages: tuple[str, ...] = ()
    network = "none"
    network_allow: tuple[str, ...] = ()


class Runtime:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.worker: Worker | None = None
        self.pool: EnvironmentPool | None = None
        self.isolation: Isolation | None = None
        self.dispatcher: Dispatcher
        if settings.dispatch == "celery":
            from jobmanager.dispatch.celery import CeleryDispatcher, celery_app

            self.dispatcher = CeleryDispatcher(celery_app(settings))
        else:
            self.isolation = open_isolation(settings)
            self.pool = EnvironmentPool(settings.warm_pool_size)
            self.worker = Worker(services.store, settings, self.pool, self.isolation)
            self.dispatcher = LocalDispatcher(self.worker, settings.job_slots)
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
        if self.worker is not None and self.pool is not None:
            self._remove_orphans(self.worker)
            isolation = self.worker.isolation
            isolation.announce(log)
            seeding = threading.Thread(
                target=prepare_seed, args=(self.worker.isolation,), name="seed", daemon=True
            )
            seeding.start()
            default = spec_for(
                _DefaultConfiguration(),
                self.worker.isolation,
                self.services.settings.time_limits.default,
            )
            if self.services.store.space.room_for("environments"):
                for _ in range(self.pool.capacity):
                    self.pool.prewarm(default)
            self.worker.start()
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
        if self.worker is not None:
            self.worker.shut_down()
        self.dispatcher.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.pool is not None:
            self.pool.close()
        self.services.store.space.close()

    def _remove_orphans(self, worker: Worker) -> None:
        """Environments a crashed process of this home left behind, once salvaged, go."""
        held = {
            slot.workdir for slot in self.services.store.execution.environments() if slot.workdir
        }
        removed = remove_orphans(worker.environments_dir, held)
        if worker.isolation.cgroups is not None:
            removed += worker.isolation.cgroups.remove_leftovers()
        if removed:
            log.info("removed %d environments left by a previous run", removed)

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
