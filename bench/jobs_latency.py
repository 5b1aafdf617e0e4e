"""Benchmarks (a), (b), (d) of the jobs service, against a real `jobmanager serve`:

(a) submit -> SUCCEEDED latency of a trivial note, p50 and p95 over 50 jobs, beside
    papermill executing the equivalent .ipynb (in-process, a fresh kernel each run,
    as papermill always does) in the same run, as a ratio;
(b) 200 trivial jobs submitted at once: time until all are final, jobs per minute;
(d) stop latency: from the stop request to `STOPPED`, for a job sleeping in a paragraph.

Run: .venv/bin/python bench/jobs_latency.py [--latency-jobs 50] [--burst 200] [--stops 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nbformat
import papermill

from bench._server import Server, job_body, percentile, zeppelin_note

JOBS = "/api/jobmanager/v3/jobs"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
TRIVIAL = "print(1)"


def wait(
    http: httpx.Client, job_id: str, statuses: set[str], poll: float = 0.005
) -> dict[str, Any]:
    while True:
        job = http.get(f"{JOBS}/{job_id}").json()
        if job["status"] in statuses:
            return dict(job)
        time.sleep(poll)


def submit_latency(http: httpx.Client, body: dict[str, Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        job = http.post(JOBS, json=body).json()
        done = wait(http, job["id"], FINAL)
        samples.append(time.perf_counter() - started)
        assert done["status"] == "SUCCEEDED", done["message"]
        time.sleep(0.3)  # as jobs arrive in life: the pool refills between them
    return samples


def papermill_latency(count: int, folder: Path) -> list[float]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(TRIVIAL)]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    source = folder / "trivial.ipynb"
    nbformat.write(notebook, source)
    samples = []
    for n in range(count):
        started = time.perf_counter()
        papermill.execute_notebook(
            str(source), str(folder / f"out-{n}.ipynb"), kernel_name="python3", progress_bar=False
        )
        samples.append(time.perf_counter() - started)
    return samples


def burst(server: Server, body: dict[str, Any], count: int) -> tuple[float, int]:
    clients = [server.client() for _ in range(8)]
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(lambda n: clients[n % 8].post(JOBS, json=body).json()["id"], range(count))
        )
    http = clients[0]
    live = '{"status":{"or":[{"eq":"SUBMITTED"},{"eq":"STARTING"},{"eq":"RUNNING"}]}}'
    while http.get(JOBS, params={"filter": live}).json()["page"]["totalElements"]:
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    failed = sum(
        1 for job_id in ids if http.get(f"{JOBS}/{job_id}").json()["status"] != "SUCCEEDED"
    )
    return elapsed, failed


def stop_latency(http: httpx.Client, body: dict[str, Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        job = http.post(JOBS, json=body).json()
        wait(http, job["id"], {"RUNNING"})
        time.sleep(0.5)
        started = time.perf_counter()
        http.post(f"{JOBS}/{job['id']}/stop")
        done = wait(http, job["id"], FINAL)
        samples.append(time.perf_counter() - started)
        assert done["status"] == "STOPPED", done
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--stops", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    server = Server(folder / "home")
    try:
        http = server.client()
        trivial = job_body(http, zeppelin_note(f"%python\n{TRIVIAL}"))
        time.sleep(2)  # let the pool warm up, as it does after any start
        ours = submit_latency(http, trivial, args.latency_jobs)
        theirs = papermill_latency(args.latency_jobs, folder)
        elapsed, failed = burst(server, trivial, args.burst)
        sleeper = job_body(http, zeppelin_note("%python\nimport time\ntime.sleep(600)"))
        stops = stop_latency(http, sleeper, args.stops)
    finally:
        server.stop()
    print(f"machine: {os.cpu_count()} CPUs; server: embedded default (SQLite), 2 job slots")
    print(
        f"(a) submit->SUCCEEDED over {len(ours)} jobs: p50 {percentile(ours, 0.5):.3f} s, "
        f"p95 {percentile(ours, 0.95):.3f} s"
    )
    print(
        f"    papermill, same note as .ipynb:  p50 {percentile(theirs, 0.5):.3f} s, "
        f"p95 {percentile(theirs, 0.95):.3f} s"
    )
    print(f"    ratio p50 ours/papermill: {percentile(ours, 0.5) / percentile(theirs, 0.5):.2f}")
    print(
        f"(b) {args.burst} jobs at once: all final in {elapsed:.1f} s = "
        f"{args.burst / elapsed * 60:.0f} jobs/min ({failed} not SUCCEEDED)"
    )
    print(
        f"(d) stop -> STOPPED over {len(stops)} jobs: p50 {percentile(stops, 0.5):.3f} s, "
        f"max {max(stops):.3f} s"
    )


if __name__ == "__main__":
    main()
