"""Benchmark: webhook latency — from a job's end to its delivery at the receiver.

A real `jobmanager serve` without job slots takes `--jobs` jobs one after the other and
each is stopped while it waits, which ends it (`STOPPED`, its `endDate` set) at once
and without a kernel, so the figure is the notifier's alone. A webhook for `stopped`
points at a real HTTP receiver in this process; the latency of each job is the time the
receiver got the delivery minus the job's `endDate` (one machine, one clock), measured
while a second webhook's receiver hangs for a minute on every delivery (the notifier
gives up on it after its send timeout). Prints p50, p95 and max per store, and the
median time of a submit and stop through the API with no webhook, with the working
one, and with both: jobs must not notice a receiver. `--store postgres-replica`: the
jobs are submitted and stopped through a second replica on the database that sends no
webhooks, so each delivery is woken across processes (LISTEN/NOTIFY).

Run: .venv/bin/python -m bench.webhook_latency [--jobs 50]
         [--store sqlite postgres postgres-replica]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from tests.webhook_receiver import Receiver

from bench._server import Server, job_body, percentile, zeppelin_note
from bench.schedule_jitter import POSTGRES_ADMIN, drop_database, instant, start_server

JM = "/api/jobmanager/v3"


def submit_and_stop(http: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """A job ended by a stop while it waits; the job and the milliseconds it took."""
    started = time.perf_counter()
    job_id = http.post(f"{JM}/jobs", json=body).json()["id"]
    job = http.post(f"{JM}/jobs/{job_id}/stop").json()
    return job, (time.perf_counter() - started) * 1000


def measure(
    server: Server, jobs: int, api: Server | None = None
) -> tuple[list[float], list[float]]:
    """Delivery latencies (ms) with a hanging receiver subscribed too, and the median
    submit-and-stop (ms) without webhooks, with a working one, and with both; the jobs
    through `api` when given."""
    receiver = Receiver().start()
    hanging = Receiver(delay=60).start()
    medians = []
    try:
        with (api or server).client() as http:
            body = job_body(http, zeppelin_note("print('never runs')"))
            for url in (None, receiver.url, hanging.url):
                if url is not None:
                    made = http.post(f"{JM}/webhooks", json={"url": url, "events": ["stopped"]})
                    assert made.status_code == 201, made.text
                ends, taken = run_jobs(http, body, jobs)
                medians.append(statistics.median(taken))
            requests = receiver.wait_for(2 * jobs, timeout=120)  # rounds 2 and 3
    finally:
        receiver.stop()
        hanging.server.server_close()
    latencies = []
    for request in requests:
        job_id = json.loads(request["body"])["job"]["id"]
        if job_id in ends:  # the last round's jobs: the hanging receiver was there too
            latencies.append((request["time"] - ends[job_id].timestamp()) * 1000)
    return latencies, medians


def run_jobs(
    http: httpx.Client, body: dict[str, Any], jobs: int
) -> tuple[dict[str, datetime], list[float]]:
    """Submit and stop `jobs` jobs one at a time; their end times, and what each took."""
    ends: dict[str, datetime] = {}
    taken = []
    for _ in range(jobs):
        job, milliseconds = submit_and_stop(http, body)
        assert job["status"] == "STOPPED", job
        ends[job["id"]] = instant(job["endDate"])
        taken.append(milliseconds)
        time.sleep(0.2)  # one job at a time: each latency is one delivery's
    return ends, taken


def replica(server: Server, home: Path, database: str, **more: str) -> Server:
    """A second replica on the server's database that sends no webhooks."""
    other = home.parent / "replica"
    shutil.copytree(home / "keys", other / "keys")  # the keys that open webhook secrets
    env = {
        "JOBMANAGER_DATABASE_URL": POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}",
        "JOBMANAGER_NOTIFICATIONS_ENABLED": "false",
        "JOBMANAGER_JOB_SLOTS": "0",
        "JOBMANAGER_WARM_ENVIRONMENTS": "0",
        **more,
    }
    api = Server(other, **env)
    api.credentials = server.credentials
    return api


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--store", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    print(f"webhook latency: {args.jobs} jobs, job end -> delivery received")
    print(
        f"{'store':<10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"   submit+stop median ms: no webhook / a working one / and a hanging one"
    )
    for store in args.store:
        with tempfile.TemporaryDirectory(prefix="jm-webhook-") as folder:
            # The receivers are on this machine: the service must be let reach loopback.
            local = {"JOBMANAGER_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
            home = Path(folder) / "home"
            server, database = start_server(home, store.removesuffix("-replica"), 0, **local)
            api = None
            try:
                if store.endswith("-replica") and database is not None:
                    api = replica(server, home, database, **local)
                latencies, medians = measure(server, args.jobs, api)
            finally:
                if api is not None:
                    api.stop()
                server.stop()
                if database is not None:
                    drop_database(database)
        print(
            f"{store:<10}{percentile(latencies, 0.5):>9.0f}{percentile(latencies, 0.95):>9.0f}"
            f"{max(latencies):>9.0f}   " + " / ".join(f"{m:.0f}" for m in medians)
        )


if __name__ == "__main__":
    main()
