"""Benchmark: a flood of wrong secrets at the token endpoint, beside running jobs.

A real `jobmanager serve` (embedded, its defaults) runs a CPU-bound job (a fixed amount of
Python work) `--rounds` times, alternately alone and while 200 wrong secrets for the dev
client are sent from 127.0.0.1, 16 at a time. Prints each job's `runningSeconds`
(docs/accounting.md), the median of each kind and their ratio (the flood's cost to jobs:
1.0 is none), how many wrong secrets were hashed (401) and refused before any hash (429),
and the time the right client, calling from 127.0.0.2 three times during each flood,
took to get a token (and alone, before any flood).

Run: .venv/bin/python -m bench.sign_in_flood [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench._server import Server, job_body, zeppelin_note

JOBS = "/api/jobmanager/v3/jobs"
WORK = "%python\ntotal = 0\nfor i in range(30_000_000):\n    total += i\nprint(total)"
WRONG = 200
IN_PARALLEL = 16
OWNER_TOKENS = 3


def token(client: httpx.Client, client_id: str, secret: str) -> tuple[int, float]:
    began = time.perf_counter()
    answer = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return answer.status_code, time.perf_counter() - began


def calling_from(server: Server, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, transport=httpx.HTTPTransport(local_address=address), timeout=60
    )


def run_job(http: httpx.Client, body: dict[str, Any]) -> float:
    job_id = http.post(JOBS, json=body).json()["id"]
    while True:
        job = http.get(f"{JOBS}/{job_id}").json()
        if job["status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            assert job["status"] == "SUCCEEDED", job
            return float(job["accounting"]["runningSeconds"])
        time.sleep(0.2)


def flood(server: Server, client_id: str, secret: str, stop: threading.Event) -> dict[str, Any]:
    """200 wrong secrets from 127.0.0.1, and meanwhile the right one from 127.0.0.2, a few
    times half a second apart."""
    statuses: Counter[int] = Counter()
    owner: list[float] = []
    with (
        calling_from(server, "127.0.0.1") as attacker,
        calling_from(server, "127.0.0.2") as right,
        ThreadPoolExecutor(IN_PARALLEL) as pool,
    ):

        def meanwhile() -> None:
            for _ in range(OWNER_TOKENS):
                status, seconds = token(right, client_id, secret)
                assert status == 200, status
                owner.append(seconds)
                if stop.wait(0.5):
                    return

        watcher = threading.Thread(target=meanwhile)
        watcher.start()
        guesses = [f"wrong-{n}" for n in range(WRONG)]
        for status, _ in pool.map(lambda guess: token(attacker, client_id, guess), guesses):
            statuses[status] += 1
        watcher.join()
    return {"statuses": statuses, "owner": owner}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jm-flood-") as folder:
        server = Server(Path(folder) / "home")
        try:
            creds = json.loads((server.home / "dev-credentials.json").read_text())
            client_id, secret = creds["clientId"], creds["clientSecret"]
            with calling_from(server, "127.0.0.2") as right:
                alone_token = [token(right, client_id, secret)[1] for _ in range(5)]
            with server.client() as http:
                body = job_body(http, zeppelin_note(WORK))
                run_job(http, body)  # a first run: warm environments, imports
                quiet, flooded, owner, statuses = [], [], [], Counter[int]()
                for _ in range(args.rounds):
                    quiet.append(run_job(http, body))
                    stop = threading.Event()
                    with ThreadPoolExecutor(1) as side:
                        flooding = side.submit(flood, server, client_id, secret, stop)
                        flooded.append(run_job(http, body))
                        stop.set()
                        result = flooding.result()
                    owner += result["owner"]
                    statuses.update(result["statuses"])
        finally:
            server.stop()
    print(f"sign-in flood: {args.rounds} rounds, {WRONG} wrong secrets, {IN_PARALLEL} at a time")
    print(f"  job runningSeconds alone:   {[round(s, 2) for s in quiet]}")
    print(f"  job runningSeconds flooded: {[round(s, 2) for s in flooded]}")
    ratio = statistics.median(flooded) / statistics.median(quiet)
    print(f"  median flooded / alone: {ratio:.2f}")
    print(f"  wrong secrets: {statuses[401]} hashed (401), {statuses[429]} refused first (429)")
    print(f"  right client's token alone: median {statistics.median(alone_token):.3f} s")
    print(
        f"  right client's token during the floods: median {statistics.median(owner):.3f} s, "
        f"max {max(owner):.3f} s ({len(owner)} tokens)"
    )


if __name__ == "__main__":
    main()
