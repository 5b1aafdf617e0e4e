"""A burst of jobs through a cluster: two API replicas and two `jobmanager worker` hosts
(network namespaces where the machine allows, see tests/acceptance/netns.py) sharing a
private PostgreSQL, Redis broker and moto_server S3 — then the same burst with one
worker, and the time a dead worker's jobs take to run elsewhere.

Run (as root, for the namespaces): .venv/bin/python bench/cluster_burst.py [--jobs 1000]
    [--single-jobs N] [--slots 2] [--heartbeat 5] [--no-takeover]

For each cluster it prints: jobs/min from the first submission to the last final job,
how many ended SUCCEEDED, and how many ran exactly once (each run of the note leaves a
file of its own in its job's output folder; the bench reads every folder back).
Then the ratio of the two throughputs. First (unless --no-takeover), for a worker
SIGKILLed (with its environments) in the middle of jobs with a retry policy: seconds
from the kill until each of its jobs is RUNNING again on the other worker (bounded below by
JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS, --heartbeat here). The load average is printed:
the machine is shared and the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.api import FINAL, Caller
from tests.acceptance.cluster import COUNTED_NOTE, Backends, Cluster, counted_job, runs_of
from tests.acceptance.netns import HostNetwork

RETRY_LOST = {"maxRetries": 1, "retryOn": ["environmentLost"], "backoff": {"initialSeconds": 0}}


@dataclass
class Burst:
    workers: int
    jobs: int
    seconds: float
    succeeded: int
    ran_once: int

    @property
    def per_minute(self) -> float:
        return 60 * self.jobs / self.seconds


@contextmanager
def cluster_of(workers: int, slots: int, heartbeat: float) -> Iterator[tuple[Cluster, Backends]]:
    """Fresh backends, two replicas and `workers` worker hosts."""
    network = HostNetwork.open()
    logs = Path(tempfile.mkdtemp(prefix="jm-bench-"))
    backends = Backends.start(network.address, logs)
    shared = {
        **backends.settings_env(),
        "JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS": str(heartbeat),
        "JOBMANAGER_LOG_LEVEL": "WARNING",
    }
    try:
        with Cluster.running(shared, network, show_logs=False) as cluster:
            cluster.start_replica()
            cluster.start_replica()
            for n in range(workers):
                cluster.start_worker(f"host-{n + 1}", slots=slots)
            yield cluster, backends
    finally:
        backends.close()
        network.close()
        shutil.rmtree(logs, ignore_errors=True)
        if not network.isolated:
            print(f"(loopback only: {network.reason})")


def statuses(backends: Backends) -> dict[str, int]:
    engine = sa.create_engine(backends.postgres.url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status"))
            return {str(status): int(count) for status, count in rows}
    finally:
        engine.dispose()


def burst(workers: int, jobs: int, slots: int) -> Burst:
    with cluster_of(workers, slots, heartbeat=15) as (cluster, backends):
        callers = [cluster.caller(replica) for replica in cluster.replicas]
        model = callers[0].model(COUNTED_NOTE)
        configuration = callers[0].configuration(maxEnvironments=2 * slots * workers)
        # One input file per job, in a folder of its own: the public root would hold
        # every earlier job's outputs, staged again by each job after it.
        inputs = callers[0].folder("inputs")
        callers[0].upload(inputs, "numbers.csv", b"n\n" + b"".join(b"%d\n" % n for n in range(100)))

        def submit(n: int) -> tuple[str, str]:
            token = f"b{n}"
            return counted_job(callers[n % 2], model, configuration, token, 0, inputs), token

        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:  # callers of both replicas at once
            submitted = list(pool.map(submit, range(jobs)))
        while sum(statuses(backends).get(s, 0) for s in FINAL) < jobs:
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        counts = statuses(backends)

        def once(pair: tuple[str, str]) -> bool:
            job_id, token = pair
            return runs_of(callers[1], callers[1].job(job_id)) == [token]

        with ThreadPoolExecutor(8) as pool:
            ran_once = sum(pool.map(once, submitted))
        for caller in callers:
            caller.close()
    return Burst(workers, jobs, elapsed, counts.get("SUCCEEDED", 0), ran_once)


def takeover(slots: int, heartbeat: float) -> list[float]:
    """Seconds from a worker's SIGKILL until each of its jobs runs again elsewhere."""
    with cluster_of(1, slots, heartbeat) as (cluster, _backends):
        caller = cluster.caller(cluster.replicas[0])
        model = caller.model(COUNTED_NOTE)
        configuration = caller.configuration(maxEnvironments=2 * slots)
        jobs = [
            caller.submit(
                model,
                configuration,
                caller.folder(f"long{n}"),
                parameters={"token": f"long{n}", "seconds": "600"},
                retry=RETRY_LOST,
            )
            for n in range(slots)
        ]
        for job_id in jobs:
            caller.wait(job_id, lambda j: j["status"] == "RUNNING", timeout=300)
        cluster.start_worker("host-2", slots=slots)
        time.sleep(10)  # the second worker up and listening
        killed = time.monotonic()
        cluster.kill_worker("host-1")
        delays = [
            _running_again(caller, job_id, timeout=heartbeat + 120) - killed for job_id in jobs
        ]
        caller.close()
    return delays


def _running_again(caller: Caller, job_id: str, timeout: float) -> float:
    caller.wait(job_id, lambda j: j["attempt"] == 2 and j["status"] == "RUNNING", timeout=timeout)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--single-jobs", type=int, help="jobs of the one-worker run")
    parser.add_argument("--slots", type=int, default=2, help="job slots of each worker")
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument(
        "--no-takeover", dest="takeover", action="store_false", help="only the bursts"
    )
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C: the processes, namespaces and folders made go.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"load average before: {_load()}", flush=True)
    if args.takeover:
        report_takeover(args.slots, args.heartbeat)
    results = []
    for workers, jobs in ((2, args.jobs), (1, args.single_jobs or args.jobs)):
        result = burst(workers, jobs, args.slots)
        results.append(result)
        print(
            f"{result.workers} worker(s) x {args.slots} slots: {result.jobs} jobs in "
            f"{result.seconds:.0f} s = {result.per_minute:.0f} jobs/min; succeeded "
            f"{result.succeeded}, ran exactly once {result.ran_once}; load {_load()}",
            flush=True,
        )
    print(f"two workers / one worker: {results[0].per_minute / results[1].per_minute:.2f}x")
    print(f"load average after: {_load()}")


def report_takeover(slots: int, heartbeat: float) -> None:
    delays = takeover(slots, heartbeat)
    print(
        f"worker SIGKILL -> its jobs RUNNING elsewhere (heartbeat timeout {heartbeat} s): "
        + ", ".join(f"{d:.1f} s" for d in delays),
        flush=True,
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
