"""Benchmark: data-arrival trigger latency — from an upload to its job, SUBMITTED.

A real `jobmanager serve` (no job slots: the jobs stay SUBMITTED) holds a schedule
triggered by `*.csv` in a folder; the benchmark uploads `--uploads` files through the
API, one every `--gap` seconds, and for each finds the firing that lists it. Two
figures per upload: on the server's clock, the job's `creationDate` minus the file's
`arrivedAt` in the firing (written in the upload's transaction); on the caller's clock, from the
upload's answer to the first poll (every 10 ms) that lists the job. Prints p50, p95 and
max per store, and the ratio to Databricks' file-arrival trigger, which checks for new
files at most once a minute (60 s).

Run: .venv/bin/python -m bench.trigger_latency [--uploads 50] [--gap 0.5]
     [--store sqlite postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from tests.acceptance.api import upload_csv

from bench._server import Server, job_body, percentile, zeppelin_note
from bench.schedule_jitter import drop_database, every_page, instant, start_server

JM = "/api/jobmanager/v3"
DX = "/api/dataexchange/v3"
DATABRICKS_SECONDS = 60.0


def job_count(http: httpx.Client, schedule_id: str) -> int:
    page = http.get(f"{JM}/schedules/{schedule_id}/firings", params={"pageSize": 1}).json()
    return int(page["page"]["totalElements"])


def measure(server: Server, uploads: int, gap: float) -> tuple[list[float], list[float]]:
    """Per upload, milliseconds: (server clock, caller clock)."""
    with server.client() as http:
        body = job_body(http, zeppelin_note("print('arrived')"))
        body.pop("maximumExecutionTimeInSeconds")
        trigger = {"folderId": body["inputFolderId"], "pattern": "*.csv"}
        schedule = http.post(
            f"{JM}/schedules",
            json={**body, "name": "on csv", "trigger": trigger, "overlap": "allow"},
        )
        assert schedule.status_code == 201, schedule.text
        schedule_id = schedule.json()["id"]
        seen: list[float] = []
        for n in range(uploads):
            upload_csv(http, body["inputFolderId"], f"{n:03}.csv")
            answered = time.perf_counter()
            while job_count(http, schedule_id) < n + 1:
                time.sleep(0.01)
            seen.append((time.perf_counter() - answered) * 1000)
            time.sleep(gap)
        fired = every_page(http, f"{JM}/schedules/{schedule_id}/firings", "firings")
        jobs = {job["id"]: job for job in every_page(http, f"{JM}/jobs", "jobs")}
    on_server = []
    for firing in fired:
        assert firing["outcome"] == "created", firing
        assert len(firing["files"]) == 1, firing
        job = jobs[firing["jobId"]]
        assert job["status"] == "SUBMITTED"
        arrived = instant(firing["files"][0]["arrivedAt"])
        on_server.append((instant(job["creationDate"]) - arrived).total_seconds() * 1000)
    return on_server, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.5)
    parser.add_argument("--store", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    print(f"trigger latency: {args.uploads} uploads, {args.gap} s apart, debounce 0")
    print(
        f"{'store':<10}{'clock':<8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'Databricks / p95':>18}"
    )
    for store in args.store:
        with tempfile.TemporaryDirectory(prefix="jm-trigger-") as folder:
            server, database = start_server(Path(folder) / "home", store, 0)
            try:
                figures = measure(server, args.uploads, args.gap)
            finally:
                server.stop()
                if database is not None:
                    drop_database(database)
        for clock, values in zip(("server", "caller"), figures, strict=True):
            p95 = percentile(values, 0.95)
            print(
                f"{store:<10}{clock:<8}{percentile(values, 0.5):>9.0f}{p95:>9.0f}"
                f"{max(values):>9.0f}{DATABRICKS_SECONDS * 1000 / p95:>17.0f}x"
            )


if __name__ == "__main__":
    main()
