"""`/metrics`: what this process observed (`jobmanager.common.process_metrics`) and,
read at scrape time, what every replica shares: jobs by tenant and status, the queue,
live environments, the workers alive.

The database figures come from a custom collector, so they are right whichever replica is
scraped and after a restart. When the database does not answer they are left out (the
scrape still answers), and `/health/ready` says 503.

Metrics anyone on the machine can read (no `JOBMANAGER_METRICS_TOKEN`, which only a
loopback address allows) name no tenant and no tenant's resource: the gauges are totals,
by status. With a token they are by tenant and by configuration.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import SecretStr

from jobmanager.common.process_metrics import PROCESS_METRICS
from jobmanager.jobrun.environment_pool import EnvironmentPool
from jobmanager.store.stats import StatsRepository

log = logging.getLogger("jobmanager.metrics")


class DatabaseCollector(Collector):
    """The database's counts; by tenant and configuration only with `tenant_labels`."""

    def __init__(self, stats: StatsRepository, tenant_labels: bool, alive_within: float) -> None:
        self.stats = stats
        self.tenant_labels = tenant_labels
        self.alive_within = timedelta(seconds=alive_within)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            jobs = self.stats.jobs_by_tenant_and_status()
            waiting = self.stats.waiting_by_configuration()
            busy = self.stats.environments_by_configuration()
            workers = self.stats.workers_alive(datetime.now(UTC) - self.alive_within)
        except Exception:
            log.warning("metrics: the database did not answer", exc_info=True)
            return
        tenant = ["tenant"] if self.tenant_labels else []
        configuration = ["configuration"] if self.tenant_labels else []
        yield _family("jobmanager_jobs", "Jobs by tenant and status", [*tenant, "status"], jobs)
        yield _family(
            "jobmanager_queue_depth",
            "Jobs waiting to start (SUBMITTED), by configuration id",
            configuration,
            waiting,
        )
        yield _family(
            "jobmanager_environments_busy",
            "Environments running a job, on every replica, by configuration id",
            configuration,
            busy,
        )
        yield GaugeMetricFamily(
            "jobmanager_workers",
            "Workers (`jobmanager worker`) alive: seen within the heartbeat timeout",
            value=workers,
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
    stats: StatsRepository | None,
    pool: EnvironmentPool | None,
    *,
    tenant_labels: bool = False,
    alive_within: float = 15.0,
) -> CollectorRegistry:
    """What `/metrics` shows; a worker's metrics port has no `stats` (the API shows them).
    A worker is alive when it was seen within `alive_within` seconds (the heartbeat
    timeout)."""
    registry = CollectorRegistry()
    registry.register(PROCESS_METRICS)
    if stats is not None:
        registry.register(DatabaseCollector(stats, tenant_labels, alive_within))
    if pool is not None:
        registry.register(PoolCollector(pool))
    return registry


TOKEN_WANTED = "/metrics wants the metrics token: Authorization: Bearer TOKEN"


def token_matches(token: SecretStr | None, authorization: str) -> bool:
    """Whether a scrape's `Authorization` header carries the metrics token (any, when the
    service has none); compared in constant time."""
    if token is None:
        return True
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest(authorization.encode(), expected)


def _family(
    name: str, documentation: str, labels: list[str], rows: Sequence[tuple[Any, ...]]
) -> GaugeMetricFamily:
    """A gauge of rows of label values and, last, a count; the rows are summed over the
    values of the labels not kept (the last `len(labels)` values are kept)."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    totals: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        kept = row[len(row) - 1 - len(labels) : -1]
        totals[tuple(str(value) for value in kept)] += row[-1]
    for values, count in totals.items():
        family.add_metric(list(values), count)
    return family
