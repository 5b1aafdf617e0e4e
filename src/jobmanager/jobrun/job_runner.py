"""What runs jobs in a process, built in one place: the service's (`dispatch=local`,
service/runtime.py) and `jobmanager worker`'s (cli/worker.py).

It owns the isolation, the warm pool and the worker. Its start removes what an earlier
process of the same home left (environments no job holds, empty cgroups), prepares what
a sandbox's home starts with, pre-warms the default configuration, then takes jobs.
"""

from __future__ import annotations

import logging
import threading

from jobmanager.engine.teardown import remove_orphans
from jobmanager.jobrun.environment_pool import (
    EnvironmentPool,
    Isolation,
    prepare_seed,
    spec_for,
)
from jobmanager.jobrun.worker import Worker
from jobmanager.startup.services import Services

log = logging.getLogger("jobmanager.runtime")


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


class JobRunner:
    """The isolation (opened by the caller: `open_isolation` says what is missing), a warm
    pool of `settings.warm_pool_size` and the worker. `start()` before taking jobs;
    `stop()` once none runs any more (after `worker.shut_down()`)."""

    def __init__(self, services: Services, isolation: Isolation) -> None:
        self.services = services
        self.isolation = isolation
        self.pool = EnvironmentPool(services.settings.warm_pool_size)
        self.worker = Worker(services.store, services.settings, self.pool, isolation)

    def start(self) -> None:
        self._remove_orphans()
        self.isolation.announce(log)
        threading.Thread(
            target=prepare_seed, args=(self.isolation,), name="seed", daemon=True
        ).start()
        self._prewarm()
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.pool.close()

    def _prewarm(self) -> None:
        """Fill the pool with environments of the default configuration, when there is
        room on the disk for them."""
        if not self.services.store.space.room_for("environments"):
            return
        limit = self.services.settings.time_limits.default
        default = spec_for(_DefaultConfiguration(), self.isolation, limit)
        for _ in range(self.pool.capacity):
            self.pool.prewarm(default)

    def _remove_orphans(self) -> None:
        """Environments an earlier process of this home left behind (once the reaper
        salvaged what their jobs left: a job's environment stays while the job holds it)."""
        held = {
            slot.workdir for slot in self.services.store.execution.environments() if slot.workdir
        }
        removed = remove_orphans(self.worker.environments_dir, held, self.isolation.cgroups)
        if removed:
            log.info("removed %d environments left by a previous run", removed)
