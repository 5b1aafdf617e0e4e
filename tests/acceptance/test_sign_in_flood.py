"""The token endpoint is no CPU sink: 200 wrong secrets sent from 127.0.0.1 in parallel,
within a minute, to a real `serve` running a job. Each wrong secret costs a slow hash
only until the limit (10 failures a minute per client id and address, a few checked at
once); the rest are answered 429 with `Retry-After` before any hash. Meanwhile the job
runs to its end and the right client, calling from 127.0.0.2, gets its token every time
it asks. (How long it waits, and how much the job's time moves: `bench/sign_in_flood.py`;
timings are measured there, not asserted here.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.server import ServerProcess

ATTEMPTS = 200
IN_PARALLEL = 16
LIMIT = 10  # JOBMANAGER_SIGN_IN_FAILURES_PER_MINUTE's default
# A job busy on a core for 8 s, running all through the flood.
BUSY_NOTE = note(
    "%python\nimport time\nend = time.time() + 8\n"
    "while time.time() < end:\n    sum(range(10000))\nprint('done')"
)


def token(client: httpx.Client, client_id: str, secret: str) -> httpx.Response:
    return client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def calling_from(server: ServerProcess, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=60)


def test_two_hundred_wrong_secrets_cost_ten_hashes_and_keep_out_only_the_guesser(
    tmp_path: Path, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    server = ServerProcess(tmp_path / "home").start()
    credentials = server.dev_credentials()
    client_id, secret = credentials["clientId"], credentials["clientSecret"]
    flooding = threading.Event()
    owner_tries: list[int] = []  # the right client's answers' statuses

    def owner_meanwhile(owner: httpx.Client) -> None:
        flooding.wait()
        while flooding.is_set():
            owner_tries.append(token(owner, client_id, secret).status_code)
            time.sleep(0.5)

    try:
        caller = caller_of(server)
        job = caller.submit(caller.model(BUSY_NOTE), caller.configuration(), caller.folder("out"))
        caller.wait(job, lambda found: found["status"] == "RUNNING", timeout=180)
        with (
            calling_from(server, "127.0.0.1") as attacker,
            calling_from(server, "127.0.0.2") as owner,
            ThreadPoolExecutor(IN_PARALLEL) as pool,
        ):
            watcher = threading.Thread(target=owner_meanwhile, args=(owner,))
            watcher.start()
            began = time.monotonic()
            flooding.set()
            wrong = [f"wrong-{n}" for n in range(ATTEMPTS)]
            answers = list(pool.map(lambda guess: token(attacker, client_id, guess), wrong))
            flooded = time.monotonic() - began
            flooding.clear()
            watcher.join()
            after = token(attacker, client_id, secret)
        final = caller.wait(job, lambda found: found["status"] in FINAL, timeout=180)
    finally:
        flooding.clear()
        server.stop()

    statuses = Counter(answer.status_code for answer in answers)
    assert flooded < 60 and set(statuses) == {401, 429}, statuses
    assert statuses[401] == LIMIT, statuses  # the hashes computed: one turn per address
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(1 <= int(answer.headers["Retry-After"]) <= 60 for answer in refused)
    assert after.status_code == 429  # even the right secret, from there
    assert owner_tries and set(owner_tries) == {200}, owner_tries
    assert final["status"] == "SUCCEEDED"
