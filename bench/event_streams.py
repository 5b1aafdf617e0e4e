"""Open event streams (issue 27): what 500 followers cost the service's other answers.

A real `jobmanager serve` without job slots (its jobs wait, so their streams stay open)
gets `--jobs` jobs of one tenant and `--streams` clients following them
(`GET /jobs/{id}/events`, spread over the jobs; one asyncio process, a connection each).
Before the streams open and while they are open (`--settle` s after the last opened:
the threads that served the burst of opens are gone by then): `/health` p50 and p99
over `--probes` calls one after the other, and the server's threads, open fds and RSS.

Run: .venv/bin/python -m bench.event_streams [--streams 500] [--jobs 500] [--probes 300]
         [--settle 15] [--store sqlite postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench._server import Server, job_body, percentile, zeppelin_note
from bench.schedule_jitter import drop_database, start_server

JOBS = "/api/jobmanager/v3/jobs"


def figures(server: Server, probes: int) -> dict[str, float]:
    """/health p50 and p99 (ms), and the server's threads, fds and RSS (MiB)."""
    taken = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(probes):
            started = time.perf_counter()
            http.get("/health").raise_for_status()
            taken.append((time.perf_counter() - started) * 1000)
    return {
        "p50": percentile(taken, 0.5),
        "p99": percentile(taken, 0.99),
        "threads": server.psutil.num_threads(),
        "fds": server.psutil.num_fds(),
        "rss": server.rss() / 2**20,
    }


async def follow(port: int, token: str, job_id: str, opened: asyncio.Event) -> None:
    """Follow a job until cancelled; `opened` once the stream's first message came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {JOBS}/{job_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    try:
        async for line in reader:
            if line.startswith(b"retry:"):
                opened.set()
    finally:
        writer.close()


class Followers:
    """`streams` streams over `job_ids`, open in a thread of their own until `close()`."""

    def __init__(self, server: Server, job_ids: list[str], streams: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        token = server.token()
        self.opened = [asyncio.Event() for _ in range(streams)]
        self.tasks = [
            asyncio.run_coroutine_threadsafe(
                follow(server.port, token, job_ids[n % len(job_ids)], self.opened[n]), self.loop
            )
            for n in range(streams)
        ]

    def wait_open(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = sum(event.is_set() for event in self.opened)
            if count == len(self.opened):
                break
            time.sleep(0.2)
        return sum(event.is_set() for event in self.opened)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        concurrent.futures.wait(self.tasks, timeout=60)  # each closes its connection
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def measure(server: Server, args: argparse.Namespace) -> tuple[dict[str, float], ...]:
    with server.client() as http:
        body = job_body(http, zeppelin_note("print('never runs')"))
        job_ids = [http.post(JOBS, json=body).json()["id"] for _ in range(args.jobs)]
    time.sleep(2)
    before = figures(server, args.probes)
    followers = Followers(server, job_ids, args.streams)
    try:
        opened = followers.wait_open()
        assert opened == args.streams, f"only {opened} of {args.streams} streams opened"
        time.sleep(args.settle)  # at rest, as browser tabs are; idle pool threads go
        during = figures(server, args.probes)
    finally:
        followers.close()
    return before, during


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--store", nargs="+", default=["sqlite"])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{args.streams} streams over {args.jobs} waiting jobs of one tenant")
    columns = [("streams", 8), ("p50 ms", 9), ("p99 ms", 9)]
    columns += [("threads", 9), ("fds", 7), ("RSS MiB", 9)]
    print(f"{'store':<10}" + "".join(f"{name:>{width}}" for name, width in columns))
    for store in args.store:
        with tempfile.TemporaryDirectory(prefix="jm-streams-") as folder:
            server, database = start_server(Path(folder) / "home", store, 0)
            try:
                rows = measure(server, args)
            finally:
                server.stop()
                if database is not None:
                    drop_database(database)
        for streams, row in zip((0, args.streams), rows, strict=True):
            print(
                f"{store:<10}{streams:>8}{row['p50']:>9.1f}{row['p99']:>9.1f}"
                f"{row['threads']:>9.0f}{row['fds']:>7.0f}{row['rss']:>9.1f}"
            )
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
