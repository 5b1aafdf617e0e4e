"""Benchmark (c): `POST /jobs` requests per second, and `GET /jobs` page latency with
100,000 jobs stored — on SQLite and on PostgreSQL, side by side in one run.

Run: .venv/bin/python bench/jobs_api.py [--posts 2000] [--stored 100000]
The server runs no jobs (JOBMANAGER_JOB_SLOTS=0): this measures the API and the store.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._server import Server, job_body, percentile, zeppelin_note
from jobmanager.store.tables import Job, Tenant

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def post_rate(server: Server, body: dict[str, Any], count: int, threads: int) -> float:
    clients = [server.client() for _ in range(threads)]

    def post(n: int) -> int:
        return clients[n % threads].post("/api/jobmanager/v3/jobs", json=body).status_code

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(threads * 5)))  # warm up connections
        started = time.perf_counter()
        codes = list(pool.map(post, range(count)))
        elapsed = time.perf_counter() - started
    assert set(codes) == {201}, set(codes)
    return count / elapsed


def fill(url: str, body: dict[str, Any], total: int) -> None:
    """Store jobs straight into the table until the tenant has `total`."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tenant_id = connection.execute(
            sa.select(Tenant.id).where(Tenant.name == "dev")
        ).scalar_one()
        have = connection.execute(
            sa.select(sa.func.count()).select_from(Job).where(Job.tenant_id == tenant_id)
        ).scalar_one()
        version = connection.execute(sa.select(Job.model_version_id).limit(1)).scalar_one()
    now = time.time()
    statuses = ["SUCCEEDED", "FAILED", "STOPPED"]
    rows = []
    for n in range(total - have):
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "tenant_id": tenant_id,
                "created_by": "dev",
                "model_id": body["modelId"],
                "model_version_id": version,
                "configuration_id": body["configurationId"],
                "input_folder_id": body["inputFolderId"],
                "output_folder_id": body["outputFolderId"],
                "environment_id": "",
                "max_execution_seconds": 600,
                "parameters": {},
                "options": {},
                "status": statuses[n % 3],
                "message": f"bench job {n}",
                "stop_requested": False,
                "creation_date": _at(now - n),
                "end_date": _at(now - n + 1),
                "progress": None,
                "idempotency_token": None,
                "schedule_id": None,
                "worker_id": None,
                "heartbeat_at": None,
                "start_date": None,
                "running_since": None,
            }
        )
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(Job), rows[start : start + 5000])
    with engine.connect() as connection:  # what autovacuum would do after such a load
        connection.execute(sa.text("ANALYZE"))
        connection.commit()
    engine.dispose()


def _at(seconds: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


def list_latency(server: Server, requests: int) -> dict[str, float]:
    http = server.client()
    samples: dict[str, list[float]] = {"first page": [], "random page": [], "filtered": []}
    flt = '{"status":{"or":[{"eq":"FAILED"},{"eq":"STOPPED"}]},"message":{"contains":"job 1"}}'
    queries = {
        "first page": lambda: {"pageSize": "100"},
        "random page": lambda: {"pageSize": "100", "pageNumber": str(random.randrange(100))},
        "filtered": lambda: {"pageSize": "100", "filter": flt},
    }
    for _ in range(requests):
        for name, query in queries.items():
            started = time.perf_counter()
            answer = http.get("/api/jobmanager/v3/jobs", params=query())
            samples[name].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
    return {
        f"{name} {label}": percentile(values, q)
        for name, values in samples.items()
        for label, q in (("p50", 0.5), ("p95", 0.95))
    }


def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    """SQLite: the embedded default, with the dev tenant it makes at first start."""
    home = Path(tempfile.mkdtemp(prefix="bench-sqlite-")) / "home"
    server = Server(home, JOBMANAGER_JOB_SLOTS="0", JOBMANAGER_WARM_ENVIRONMENTS="0")
    try:
        return measure(server, f"sqlite:///{home / 'jobmanager.db'}", args)
    finally:
        server.stop()


def measure(server: Server, url: str, args: argparse.Namespace) -> dict[str, Any]:
    http = server.client()
    body = job_body(http, zeppelin_note("%python\nprint(1)"))
    rate = post_rate(server, body, args.posts, args.threads)
    fill(url, body, args.stored)
    return {"POST /jobs per second": rate, **list_latency(server, args.requests)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    results = {"sqlite": run_sqlite(args)}
    results["postgresql"] = run_postgres(args)
    print(f"{'':<28}{'SQLite':>12}{'PostgreSQL':>12}")
    for key in results["sqlite"]:
        print(f"{key:<28}{results['sqlite'][key]:>12.1f}{results['postgresql'][key]:>12.1f}")
    print("(latencies in ms, measured by the client over loopback)")


def run_postgres(args: argparse.Namespace) -> dict[str, Any]:
    """PostgreSQL: a fresh database; the dev tenant made with the admin command's code."""
    name = f"jm_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    home = Path(tempfile.mkdtemp(prefix="bench-pg-")) / "home"
    try:
        from jobmanager.startup.services import Services
        from jobmanager.startup.settings import Settings

        services = Services.open(Settings(home=home, database_url=url))
        services.store.tenants.create("dev")
        made = services.store.tenants.create_credentials("dev")
        services.close()
        server = Server(
            home,
            JOBMANAGER_DATABASE_URL=url,
            JOBMANAGER_JOB_SLOTS="0",
            JOBMANAGER_WARM_ENVIRONMENTS="0",
        )
        server.credentials = {"clientId": made.client_id, "clientSecret": made.client_secret}
        try:
            return measure(server, url, args)
        finally:
            server.stop()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
