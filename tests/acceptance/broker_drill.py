"""The broker drill of issue 28: a burst of trivial jobs submitted at once through a
cluster's API replicas, counting what went through the broker (a private Redis: its
LPUSH/RPUSH calls are the messages sent) and the queue's depth sampled all along, then
whether each job ended SUCCEEDED and ran once (one attempt, one file of its own in its
output folder). Shared by tests/acceptance/test_broker_traffic.py and
bench/broker_traffic.py."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
import sqlalchemy as sa

from tests.acceptance.api import Caller
from tests.acceptance.cluster import COUNTED_NOTE, Backends, Cluster, runs_of

QUEUE = "jobmanager.jobs"


@dataclass(frozen=True)
class Traffic:
    jobs: int
    messages: int  # broker pushes from the first submission until all ended, and a sweep
    peak_depth: int  # messages in the queue at most
    peak_waiting: int  # SUBMITTED jobs at most
    lost: int  # jobs that did not end SUCCEEDED
    doubled: int  # jobs with more than one attempt or run
    seconds: float

    @property
    def per_job(self) -> float:
        return self.messages / self.jobs

    def line(self) -> str:
        return (
            f"{self.jobs} jobs in {self.seconds:.0f} s: {self.messages} broker messages = "
            f"{self.per_job:.2f} per job; peak queue depth {self.peak_depth} (peak waiting "
            f"jobs {self.peak_waiting}); lost {self.lost}; doubled {self.doubled}"
        )


def pushes(broker: redis.Redis) -> int:
    """Messages sent so far: kombu's Redis transport sends each with one LPUSH (RPUSH
    when a message is put back)."""
    stats = broker.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("lpush", "rpush"))


class Watch:
    """Samples the queue's depth and the waiting jobs until stopped."""

    def __init__(self, broker: redis.Redis, database_url: str, queue: str = QUEUE) -> None:
        self.broker = broker
        self.engine = sa.create_engine(database_url)
        self.queue = queue
        self.peak_depth = 0
        self.peak_waiting = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.engine.dispose()

    def statuses(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status"))
            return {str(status): int(count) for status, count in rows}

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_depth = max(self.peak_depth, int(self.broker.llen(self.queue)))
            self.peak_waiting = max(self.peak_waiting, self.statuses().get("SUBMITTED", 0))


def burst(cluster: Cluster, backends: Backends, jobs: int, slots: int) -> Traffic:
    """`jobs` counted jobs of no time submitted at once through every replica of
    `cluster` (started), on a configuration of `slots` environments."""
    callers = [cluster.caller(replica) for replica in cluster.replicas]
    try:
        return _burst(callers, backends, jobs, slots)
    finally:
        for caller in callers:
            caller.close()


def _burst(callers: list[Caller], backends: Backends, jobs: int, slots: int) -> Traffic:
    first = callers[0]
    model, configuration = first.model(COUNTED_NOTE), first.configuration(maxEnvironments=slots)
    # An input folder of its own: the public root would hold the earlier jobs' outputs.
    inputs = first.folder("inputs")
    first.upload(inputs, "n.csv", b"n\n1\n")
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda n: first.folder(f"out-b{n}"), range(jobs)))
    broker = redis.Redis(host=backends.redis.host, port=backends.redis.port)

    def submit(n: int) -> str:
        parameters = {"token": f"b{n}", "seconds": "0"}
        return callers[n % len(callers)].submit(
            model, configuration, outputs[n], parameters=parameters, inputFolderId=inputs
        )

    sent_before = pushes(broker)
    began = time.monotonic()
    with Watch(broker, backends.postgres.url) as watch:
        with ThreadPoolExecutor(8) as pool:
            submitted = list(pool.map(submit, range(jobs)))
        while sum(watch.statuses().get(s, 0) for s in ("SUCCEEDED", "FAILED", "STOPPED")) < jobs:
            time.sleep(0.5)
        seconds = time.monotonic() - began
        time.sleep(6)  # a sweep of each replica after the end: nothing more is sent
        statuses = watch.statuses()
    messages = pushes(broker) - sent_before
    broker.close()

    def doubled(n: int) -> bool:
        job = first.job(submitted[n])
        return len(job["attempts"]) != 1 or runs_of(first, job) != [f"b{n}"]

    with ThreadPoolExecutor(8) as pool:
        twice = sum(pool.map(doubled, range(jobs)))
    return Traffic(
        jobs,
        messages,
        watch.peak_depth,
        watch.peak_waiting,
        jobs - statuses.get("SUCCEEDED", 0),
        twice,
        seconds,
    )
