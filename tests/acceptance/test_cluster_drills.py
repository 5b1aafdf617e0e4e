"""Failure drills on a cluster (two worker hosts, API replicas) whose PostgreSQL and
broker are private instances of the test (tests/acceptance/private_services.py): the
machine's shared services are never stopped.

- The broker (Redis, no persistence) is killed for 20 s in the middle of a burst and
  comes back empty: every job submitted before, during and after ends SUCCEEDED, each
  run exactly once (each run leaves a file of its own in the job's output folder).
- PostgreSQL is restarted (fast shutdown, as an operator's restart) in the middle of a
  burst: the processes reconnect by themselves; every job accepted ends SUCCEEDED, run
  once, and the replicas take new jobs again.
(SIGKILL of a worker is drilled in test_worker_loss.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.acceptance.api import FINAL, Caller
from tests.acceptance.cluster import COUNTED_NOTE, Backends, Cluster, counted_job, runs_of
from tests.acceptance.cluster_fixtures import backends, cluster, network

__all__ = ["backends", "cluster", "network"]  # the fixtures this module uses
BROKER_DOWN_SECONDS = 20


@pytest.fixture
def running(cluster: Cluster) -> Iterator[tuple[Cluster, Caller, str, str]]:
    """Two replicas, two worker hosts of two slots; a caller of the first replica, a
    counted model and a configuration."""
    cluster.start_replica()
    cluster.start_replica()
    cluster.start_worker("host-1", slots=2)
    cluster.start_worker("host-2", slots=2)
    caller = cluster.caller(cluster.replicas[0])
    yield cluster, caller, caller.model(COUNTED_NOTE), caller.configuration(maxEnvironments=8)
    caller.close()


def _all_ran_once(caller: Caller, submitted: dict[str, str], timeout: float) -> None:
    for job_id, token in submitted.items():
        job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=timeout)
        assert job["status"] == "SUCCEEDED", job["message"]
        assert len(job["attempts"]) == 1, job["attempts"]
        assert runs_of(caller, job) == [token], job_id


def test_broker_down_for_20_seconds_loses_and_doubles_nothing(
    running: tuple[Cluster, Caller, str, str], backends: Backends
) -> None:
    _cluster, caller, model, configuration = running
    submitted: dict[str, str] = {}

    def submit(tag: str, count: int) -> None:
        for n in range(count):
            token = f"{tag}{n}"
            submitted[counted_job(caller, model, configuration, token, seconds=3)] = token

    submit("before", 6)
    caller.wait(next(iter(submitted)), lambda j: j["status"] == "RUNNING", timeout=120)
    backends.redis.kill()
    down_at = time.monotonic()
    submit("during", 6)  # accepted all the same: they wait SUBMITTED for the sweep
    time.sleep(max(0.0, BROKER_DOWN_SECONDS - (time.monotonic() - down_at)))
    backends.redis.start()
    submit("after", 4)

    _all_ran_once(caller, submitted, timeout=300)


def test_postgresql_restart_during_a_burst_is_recovered_by_itself(
    running: tuple[Cluster, Caller, str, str], backends: Backends
) -> None:
    cluster, caller, model, configuration = running
    submitted = {
        counted_job(caller, model, configuration, f"burst{n}", seconds=3): f"burst{n}"
        for n in range(12)
    }
    caller.wait(next(iter(submitted)), lambda j: j["status"] == "RUNNING", timeout=120)
    backends.postgres.stop("fast")
    answer = caller.http.get("/api/jobmanager/v3/jobs")
    assert answer.status_code == 503, answer.text  # said so at once, not hung
    assert answer.headers["Retry-After"]
    time.sleep(5)
    backends.postgres.start()

    _all_ran_once(caller, submitted, timeout=300)
    for replica in cluster.replicas:  # every replica takes new jobs again
        again = Caller(replica.url, replica.token())
        token = f"again-{replica.port}"
        job_id = counted_job(again, model, configuration, token, seconds=0)
        _all_ran_once(again, {job_id: token}, timeout=120)
        assert httpx.get(f"{replica.url}/health/ready").status_code == 200
        again.close()
