"""Benchmark: schedule jitter — from a fire time to the creation of its job.

A real `jobmanager serve` fires a `*/1 * * * * ?` schedule (one firing a second) until
`--firings` firings are recorded; the jitter of each is the job's `creationDate` minus
the firing's `fireTime`. Prints p50, p99 and max per store (target: p99 <= 1 s).

Run: .venv/bin/python -m bench.schedule_jitter [--firings 200] [--store sqlite postgres]
     [--slots 0]
With `--slots 0` the server runs no jobs (the scheduler alone); `--slots N` lets it run
the jobs it creates at the same time (a one-paragraph Zeppelin note each).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench._server import Server, job_body, percentile, zeppelin_note
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
JM = "/api/jobmanager/v3"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def every_page(http: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page, pages = 0, 1
    while page < pages:
        body = http.get(path, params={"pageNumber": page, "pageSize": 100}).json()
        items.extend(body[key])
        pages = body["page"]["totalPages"]
        page += 1
    return items


def start_server(home: Path, store: str, slots: int, **more: str) -> tuple[Server, str | None]:
    env = {"JOBMANAGER_JOB_SLOTS": str(slots), "JOBMANAGER_WARM_ENVIRONMENTS": "0", **more}
    if store == "sqlite":
        return Server(home, **env), None
    database = f"jm_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    services = Services.open(Settings(home=home, database_url=url))  # migrates, makes keys
    services.store.tenants.create("bench")
    made = services.store.tenants.create_credentials("bench")
    services.close()
    server = Server(home, JOBMANAGER_DATABASE_URL=url, **env)
    server.credentials = {"clientId": made.client_id, "clientSecret": made.client_secret}
    return server, database


def drop_database(name: str) -> None:
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def measure(server: Server, firings: int) -> list[float]:
    """Jitter in milliseconds of the first `firings` firings of a per-second schedule."""
    with server.client() as http:
        body = job_body(http, zeppelin_note("print('tick')"))
        body.pop("maximumExecutionTimeInSeconds")
        schedule = http.post(
            f"{JM}/schedules",
            json={**body, "name": "jitter", "scheduleString": "*/1 * * * * ?", "overlap": "allow"},
        )
        assert schedule.status_code == 201, schedule.text
        path = f"{JM}/schedules/{schedule.json()['id']}/firings"
        while http.get(path, params={"pageSize": 1}).json()["page"]["totalElements"] < firings:
            time.sleep(1)
        http.post(f"{JM}/schedules/{schedule.json()['id']}/stop")
        fired = sorted(every_page(http, path, "firings"), key=lambda f: f["fireTime"])[:firings]
        created = {job["id"]: job for job in every_page(http, f"{JM}/jobs", "jobs")}
    assert all(f["outcome"] == "created" for f in fired), "a firing was skipped"
    return [
        (instant(created[f["jobId"]]["creationDate"]) - instant(f["fireTime"])).total_seconds()
        * 1000
        for f in fired
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firings", type=int, default=200)
    parser.add_argument("--store", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--slots", type=int, default=0)
    args = parser.parse_args()
    print(f"schedule jitter: {args.firings} firings at 1 s cadence, job slots {args.slots}")
    print(f"{'store':<10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'min ms':>10}")
    for store in args.store:
        with tempfile.TemporaryDirectory(prefix="jm-jitter-") as folder:
            server, database = start_server(Path(folder) / "home", store, args.slots)
            try:
                jitter = measure(server, args.firings)
            finally:
                server.stop()
                if database is not None:
                    drop_database(database)
        print(
            f"{store:<10}{percentile(jitter, 0.5):>10.1f}{percentile(jitter, 0.99):>10.1f}"
            f"{max(jitter):>10.1f}{min(jitter):>10.1f}"
        )


if __name__ == "__main__":
    main()
