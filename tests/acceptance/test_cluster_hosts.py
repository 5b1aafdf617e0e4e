"""Workers as separate hosts: two API replicas and two `jobmanager worker` processes,
each with a home and work folder of its own, sharing nothing but PostgreSQL, the broker
(Redis) and the object store (moto_server S3) — private instances of this test.

Each worker lives in a network namespace of its own with a host name of its own, joined
to the machine by a veth pair on a bridge the test makes (tests/acceptance/netns.py):
it reaches the three services only through the bridge's address. Where the machine does
not allow namespaces the same test runs every process on loopback (each still with its
own home) and says so in its output.

Jobs submitted through either replica run on either worker, once each, and their
outputs land in the object store, read back through the other replica.
"""

from __future__ import annotations

from pathlib import Path

from jobmanager.domain.worker_ids import WorkerId
from tests.acceptance.api import FINAL
from tests.acceptance.cluster import COUNTED_NOTE, Backends, Cluster, counted_job, runs_of
from tests.acceptance.cluster_fixtures import backends, cluster, network
from tests.acceptance.netns import HostNetwork

__all__ = ["backends", "cluster", "network"]  # the fixtures this module uses
JOBS = 8


def test_jobs_of_two_replicas_run_on_two_worker_hosts_with_outputs_on_s3(
    cluster: Cluster, backends: Backends, network: HostNetwork
) -> None:
    if not network.isolated:
        print(f"separate homes on loopback only: {network.reason}")
    replicas = [cluster.start_replica(), cluster.start_replica()]
    for host in ("host-1", "host-2"):
        cluster.start_worker(host, slots=1)
    callers = [cluster.caller(replica) for replica in replicas]
    model = callers[0].model(COUNTED_NOTE)
    configuration = callers[0].configuration(maxEnvironments=2)  # a job on each worker at once

    submitted = {
        counted_job(callers[n % 2], model, configuration, f"t{n}", seconds=2): f"t{n}"
        for n in range(JOBS)
    }

    workers: set[str] = set()
    for job_id, token in submitted.items():
        job = callers[1].wait(job_id, lambda j: j["status"] in FINAL, timeout=300)
        assert job["status"] == "SUCCEEDED", job["message"]
        [attempt] = job["attempts"]
        workers.add(attempt["workerId"])
        assert runs_of(callers[0], job) == [token]  # once, read through the other replica
    assert len(workers) == 2, workers  # both workers took jobs
    if network.isolated:  # each worker on its host: the host name is in its id
        assert {_host(w) for w in workers} == {"host-1", "host-2"}

    objects = backends.moto.filesystem().find(f"{backends.bucket}/jobmanager")
    assert len(objects) >= 2 * JOBS + 1, objects  # a ran- file and an executed note per job
    for home in [*(r.home for r in replicas), cluster.root / "host-1", cluster.root / "host-2"]:
        assert _blob_files(home) == [], home  # nothing kept in a home's blob folder
    for caller in callers:
        caller.close()


def _host(worker_id: str) -> str:
    parsed = WorkerId.parse(worker_id)
    assert parsed is not None, worker_id
    return parsed.host


def _blob_files(home: Path) -> list[Path]:
    folder = home / "blobs"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
