"""Broker traffic stays bounded (issue 28): a job's message is sent once and re-sent only
when provably lost, and workers drain the backlog from the database. Two API replicas,
PostgreSQL, a Redis broker (private to the test: its command counts are ours alone)."""

from __future__ import annotations

import time

import redis

from tests.acceptance.api import FINAL
from tests.acceptance.broker_drill import QUEUE, burst, pushes
from tests.acceptance.cluster import COUNTED_NOTE, Backends, Cluster, counted_job, runs_of
from tests.acceptance.cluster_fixtures import backends, cluster, network

__all__ = ["backends", "cluster", "network"]  # the fixtures this module uses
SLOTS = 2


def test_sixty_jobs_at_once_cost_at_most_two_messages_each(
    cluster: Cluster, backends: Backends
) -> None:
    cluster.start_replica()
    cluster.start_replica()
    cluster.start_worker("host-1", slots=SLOTS)
    traffic = burst(cluster, backends, jobs=60, slots=SLOTS)
    print(traffic.line())
    assert traffic.lost == 0 and traffic.doubled == 0, traffic
    assert traffic.per_job <= 2, traffic
    assert traffic.peak_depth <= traffic.peak_waiting + SLOTS, traffic


def test_messages_lost_in_the_broker_are_sent_again_and_every_job_runs(
    cluster: Cluster, backends: Backends
) -> None:
    for _ in range(2):
        cluster.start_replica(JOBMANAGER_REDISPATCH_SECONDS="2")
    caller = cluster.caller(cluster.replicas[0])
    model, configuration = caller.model(COUNTED_NOTE), caller.configuration(maxEnvironments=SLOTS)
    broker = redis.Redis(host=backends.redis.host, port=backends.redis.port)
    submitted = {counted_job(caller, model, configuration, f"l{n}", 0): f"l{n}" for n in range(8)}
    assert broker.llen(QUEUE) == 8  # sent once each, by the replica that took it
    broker.delete(QUEUE)  # every message lost
    lost_at = pushes(broker)
    deadline = time.monotonic() + 30
    while broker.llen(QUEUE) < SLOTS and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(6)  # more sweeps of both replicas: what is queued covers what can start
    # The sweeps sent again as many as could start (the configuration's free slots).
    assert pushes(broker) - lost_at == SLOTS
    cluster.start_worker("host-1", slots=SLOTS)
    for job_id, token in submitted.items():
        job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=180)
        assert job["status"] == "SUCCEEDED", job["message"]
        assert len(job["attempts"]) == 1 and runs_of(caller, job) == [token], job
    caller.close()
    broker.close()
