"""What the sandbox costs: two real servers in one run, `JOBMANAGER_ISOLATION=sandbox` (the
default) and `process`, on the same machine at the same time.

(a) submit -> SUCCEEDED of a trivial note, p50 and p95, measured in alternating batches
    (sandbox, process, sandbox, ...) so that both see the same machine load;
(b) 200 trivial jobs at once: jobs per minute on each, one server after the other.

Targets (issue 11): (a) p50 at most +30 ms; (b) within 10 % of `process`.

Run: .venv/bin/python bench/sandbox_overhead.py [--jobs 60] [--batch 10] [--burst 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._server import Server, job_body, percentile, zeppelin_note
from bench.jobs_latency import burst, submit_latency


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    servers = {
        isolation: Server(folder / isolation / "home", JOBMANAGER_ISOLATION=isolation)
        for isolation in ("sandbox", "process")
    }
    try:
        bodies: dict[str, dict[str, Any]] = {}
        for isolation, server in servers.items():
            bodies[isolation] = job_body(server.client(), zeppelin_note("%python\nprint(1)"))
        time.sleep(3)  # both pools warm up, as after any start
        latency: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(max(1, args.jobs // args.batch)):
            for isolation, server in servers.items():
                latency[isolation] += submit_latency(server.client(), bodies[isolation], args.batch)
        rates = {}
        for isolation, server in servers.items():
            elapsed, failed = burst(server, bodies[isolation], args.burst)
            assert failed == 0, f"{failed} jobs of the {isolation} burst did not succeed"
            rates[isolation] = args.burst / elapsed * 60
    finally:
        for server in servers.values():
            server.stop()
    print(f"machine: {os.cpu_count()} CPUs; each server: embedded default (SQLite), 2 job slots")
    for isolation, samples in latency.items():
        print(
            f"(a) {isolation:7} submit->SUCCEEDED over {len(samples)} jobs: "
            f"p50 {percentile(samples, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(samples, 0.95) * 1000:.0f} ms"
        )
    extra = percentile(latency["sandbox"], 0.5) - percentile(latency["process"], 0.5)
    print(f"    sandbox p50 - process p50: {extra * 1000:+.0f} ms (target: at most +30 ms)")
    for isolation, rate in rates.items():
        print(f"(b) {isolation:7} {args.burst} jobs at once: {rate:.0f} jobs/min")
    ratio = rates["sandbox"] / rates["process"]
    print(f"    sandbox / process: {ratio:.2f} (target: at least 0.90)")


if __name__ == "__main__":
    main()
