"""`/metrics`: what this process observed (`jobmanager.metrics`) and, read at scrape time,
what every replica shares: jobs by tenant and status, the queue, live environments.

The database figures come from a custom collector, so they are right whichever replica is
scraped and after a restart. When the database does not answer they are left out (the
scrape still answers), and `/health/ready` says 503.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobmanager.environments import EnvironmentPool
from jobmanager.metrics import PROCESS_METRICS
from jobmanager.store.stats import StatsRepository

log = logging.getLogger("jobmanager.metrics")


class DatabaseCollector(Collector):
    def __init__(self, stats: StatsRepository) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            jobs = self.stats.jobs_by_tenant_and_status()
            waiting = self.stats.waiting_by_configuration()
            busy = self.stats.environments_by_configuration()
        except Exception:
            log.warning("metrics: the database did not answer", exc_info=True)
            return
        yield _family("jobmanager_jobs", "Jobs by tenant and status", ["tenant", "status"], jobs)
        yield _family(
            "jobmanager_queue_depth",
            "Jobs waiting to start (SUBMITTED), by configuration id",
            ["configuration"],
            waiting,
        )
        yield _family(
            "jobmanager_environments_busy",
            "Environments running a job, on every replica, by configuration id",
            ["configuration"],
            busy,
        )


class PoolCollector(Collector):
    """The warm environments of this process's pool (a process that runs jobs)."""

    def __init__(self, pool: EnvironmentPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "jobmanager_environments_warm",
            "Environments started and waiting for a job, in this process",
            value=self.pool.warm_count(),
        )


def metrics_registry(
    stats: StatsRepository | None, pool: EnvironmentPool | None
) -> CollectorRegistry:
    """What `/metrics` shows; a worker's metrics port has no `stats` (the API shows them)."""
    registry = CollectorRegistry()
    registry.register(PROCESS_METRICS)
    if stats is not None:
        registry.register(DatabaseCollector(stats))
    if pool is not None:
        registry.register(PoolCollector(pool))
    return registry


def _family(
    name: str, documentation: str, labels: list[str], rows: Sequence[tuple[Any, ...]]
) -> GaugeMetricFamily:
    """A gauge of rows of label values and, last, a count."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(value) for value in values], count)
    return family
