"""Live job events (issue 13, item 6), against a real `jobmanager serve`:

(a) from a `print` in a running paragraph to its event at a client following the job:
    p50, p95 and max over 200 prints (target p95 <= 100 ms). The paragraph prints the
    wall clock every `--spacing` seconds; the client, on the same machine, subtracts it
    from the time each line's event arrives.
(b) 100 clients following one job at once (one asyncio process, one connection each):
    the job's wall time (RUNNING to its end, from its own dates) against the same job
    with no follower, median of `--rounds` each, alternating (target: within 10 %).

Run: .venv/bin/python bench/events_latency.py [--prints 200] [--followers 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench._server import Server, job_body, percentile, zeppelin_note

JOBS = "/api/jobmanager/v3/jobs"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def printing_note(prints: int, spacing: float) -> bytes:
    return zeppelin_note(
        "%python\nimport time\n"
        f"for i in range({prints}):\n"
        "    print('at', repr(time.time()), flush=True)\n"
        f"    time.sleep({spacing})"
    )


def working_note() -> bytes:
    """A job that computes and prints, about 10 s: what followers could slow down."""
    return zeppelin_note(
        "%python\nimport hashlib, time\n"
        "for i in range(100):\n"
        "    digest = b''\n"
        "    for _ in range(20000):\n"
        "        digest = hashlib.sha256(digest).digest()\n"
        "    print(i, digest.hex()[:16], flush=True)\n"
        "    time.sleep(0.05)"
    )


def wait(http: httpx.Client, job_id: str) -> dict[str, Any]:
    while True:
        job = http.get(f"{JOBS}/{job_id}").json()
        if job["status"] in FINAL:
            return dict(job)
        time.sleep(0.05)


def print_latencies(server: Server, body: dict[str, Any]) -> list[float]:
    """Follow the job from before it starts; a latency per printed line."""
    samples: list[float] = []
    with server.client() as http:
        job_id = http.post(JOBS, json=body).json()["id"]
        with http.stream("GET", f"{JOBS}/{job_id}/events") as answer:
            event, partial = "", ""
            for line in answer.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "output":
                    arrived = time.time()
                    partial += json.loads(line.removeprefix("data: "))["text"]
                    *rows, partial = partial.split("\n")  # a line may come in two events
                    samples += [arrived - float(row.split()[1]) for row in rows]
                elif line.startswith("data: ") and event == "end":
                    break
    return samples


async def follow(port: int, token: str, job_id: str) -> int:
    """One follower on its own connection, every event until the end; how many it got.
    Plain asyncio streams: a follower should cost this machine little, as one elsewhere
    would cost it nothing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET {JOBS}/{job_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    writer.write(request.encode())
    count = 0
    try:
        async for line in reader:
            count += line.startswith(b"id: ")
            if line.startswith(b"event: end"):
                break
    finally:
        writer.close()
        await writer.wait_closed()
    return count


def wall_time(job: dict[str, Any]) -> float:
    started = datetime.fromisoformat(job["startDate"])
    ended = datetime.fromisoformat(job["endDate"])
    return (ended - started).total_seconds()


async def followed_run(server: Server, body: dict[str, Any], followers: int) -> tuple[float, int]:
    """The job's wall time with `followers` following it from before it starts, and the
    fewest events any follower got."""
    token = server.token()
    with server.client() as http:
        job_id = http.post(JOBS, json=body).json()["id"]
        counts = await asyncio.gather(
            *(follow(server.port, token, job_id) for _ in range(followers))
        )
        job = await asyncio.to_thread(wait, http, job_id)
    assert job["status"] == "SUCCEEDED", job["message"]
    return wall_time(job), min(counts) if counts else 0


def unfollowed_run(server: Server, body: dict[str, Any]) -> float:
    with server.client() as http:
        job = wait(http, http.post(JOBS, json=body).json()["id"])
    assert job["status"] == "SUCCEEDED", job["message"]
    return wall_time(job)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prints", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.05)
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-events-"))
    server = Server(folder / "home")
    try:
        with server.client() as http:
            printing = job_body(http, printing_note(args.prints, args.spacing))
            working = job_body(http, working_note(), maxEnvironments=1)
        time.sleep(2)  # let the pool warm up, as it does after any start
        latencies = print_latencies(server, printing)
        alone, followed, fewest = [], [], []
        for _ in range(args.rounds):
            alone.append(unfollowed_run(server, working))
            seconds, events = asyncio.run(followed_run(server, working, args.followers))
            followed.append(seconds)
            fewest.append(events)
    finally:
        server.stop()
    print(f"machine: {os.cpu_count()} CPUs; server: embedded default (SQLite), 2 job slots")
    print(
        f"(a) print -> event at a client over {len(latencies)} prints "
        f"({args.spacing * 1000:.0f} ms apart): p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    ratio = statistics.median(followed) / statistics.median(alone)
    print(
        f"(b) job wall time, median of {args.rounds}: alone {statistics.median(alone):.2f} s, "
        f"{args.followers} followers {statistics.median(followed):.2f} s "
        f"(x{ratio:.3f}); each follower got >= {min(fewest)} events"
    )


if __name__ == "__main__":
    main()
