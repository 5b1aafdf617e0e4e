"""What runs in the background of a service process: job slots, the reaper, the scheduler.

`Runtime.start()` is called by the app's lifespan; `stop()` on shutdown. Which parts
run is a matter of settings: an API-only replica hands jobs to Celery and runs no
slots of its own.
"""

from __future__ import annotations

import logging
import os
import socket

from jobmanager.dispatch.base import Dispatcher
from jobmanager.dispatch.local import LocalDispatcher
from jobmanager.environments import EnvironmentPool, spec_for
from jobmanager.reaper import Reaper
from jobmanager.services import Services
from jobmanager.worker import Worker

log = logging.getLogger("jobmanager.runtime")


class _DefaultConfiguration:
    """The configuration with every default: what most jobs ask for, so it is pre-warmed."""

    memory_mib: int | None = None
    cpus: float | None = None
    environment_variables: dict[str, str] = {}


class Runtime:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        warm = (
            settings.job_slots if settings.warm_environments is None else settings.warm_environments
        )
        self.pool = EnvironmentPool(capacity=warm)
        self.worker = Worker(services.store, settings, self.pool)
        self.dispatcher: Dispatcher = LocalDispatcher(self.worker, settings.job_slots)
        reaper_id = f"{socket.gethostname()}:{os.getpid()}:reaper"
        self.reaper = Reaper(services.store, settings, reaper_id)

    def start(self) -> None:
        settings = self.services.settings
        default = spec_for(
            _DefaultConfiguration(),
            self.worker.environments_dir,
            settings.default_execution_seconds,
        )
        for _ in range(self.pool.capacity):
            self.pool.prewarm(default)
        self.reaper.reap_once()
        self.worker.start()
        self.dispatcher.start()
        self.reaper.start()

    def stop(self) -> None:
        self.reaper.stop()
        self.dispatcher.stop()
        self.worker.stop()
        self.pool.close()
