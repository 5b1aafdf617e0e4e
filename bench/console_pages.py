"""Benchmark: the console's server time per page with 100,000 jobs of one tenant stored,
on SQLite and on PostgreSQL side by side. The goal is every page under 200 ms.

Run: .venv/bin/python bench/console_pages.py [--stored 100000] [--requests 30]

The jobs are written into the store's `jobs` table in bulk (see `fill`), a third
each SUCCEEDED, FAILED and STOPPED, with messages to filter on. The pages are asked of
the app in this process (no network, no job slots): the time is the request's, from the
ASGI call to the last byte of the answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.configurations import ConfigurationSpec
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.models import ModelSpec, Payload, VersionSpec
from jobmanager.store.tables import Job
from jobmanager.web.app import create_app

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH = 5000
NOTE = json.dumps({"paragraphs": [{"text": "%python\nprint(1)"}]}).encode()


def fill(services: Services, tenant_id: str, stored: int) -> list[str]:
    """`stored` jobs of the tenant, oldest first; their ids. All but the newest are
    written in bulk (a repository's insert checks every reference and takes ~10 ms on a
    busy machine: 100,000 would take a quarter of an hour); the newest is made through
    the repository and moved by the status writer, so its page has a timeline."""
    spec = references(services, tenant_id)
    now = datetime.now(UTC)
    statuses = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED]
    version = services.store.models.get(tenant_id, spec.model_id).last_version
    assert version is not None
    ids = [str(uuid.uuid4()) for _ in range(stored - 1)]
    rows = [
        {
            "id": job_id,
            "tenant_id": tenant_id,
            "created_by": "bench",
            "model_id": spec.model_id,
            "model_version_id": version.id,
            "configuration_id": spec.configuration_id,
            "input_folder_id": spec.input_folder_id,
            "output_folder_id": spec.output_folder_id,
            "environment_id": "",
            "max_execution_seconds": 600,
            "parameters": spec.parameters,
            "options": {},
            "status": statuses[n % 3].value,
            "message": f"bench {statuses[n % 3].value.lower()} {n}",
            "stop_requested": False,
            "creation_date": now - timedelta(seconds=stored - n),
            "end_date": now - timedelta(seconds=stored - n - 1),
        }
        for n, job_id in enumerate(ids)
    ]
    with services.store.db.transaction() as session:
        for start in range(0, len(rows), BATCH):
            session.execute(sa.insert(Job), rows[start : start + BATCH])
    with services.store.db.engine.connect() as connection:  # as autovacuum would, after a load
        connection.execute(sa.text("ANALYZE"))
        connection.commit()
    newest = services.store.jobs.create(tenant_id, "bench", spec)
    for source, target in (
        (JobStatus.SUBMITTED, JobStatus.STARTING),
        (JobStatus.STARTING, JobStatus.RUNNING),
    ):
        services.store.jobs.transition(newest.id, [source], target, message=f"now {target.value}")
    return [*ids, newest.id]


def references(services: Services, tenant_id: str) -> JobSpec:
    """A model, a configuration and two folders of the tenant: what a job names."""
    store = services.store
    key = store.blobs.new_key()
    size = store.blobs.write(key, [NOTE])
    model = store.models.create(
        tenant_id, ModelSpec(name="bench"), VersionSpec(definition={}), Payload(key, size)
    )
    configuration = store.configurations.create(tenant_id, ConfigurationSpec(name="bench"))
    inputs = store.dataexchange.create_directory(tenant_id, "_PUBLIC_ROOT_ID", "in")
    outputs = store.dataexchange.create_directory(tenant_id, "_PUBLIC_ROOT_ID", "out")
    return JobSpec(
        model_id=model.id,
        configuration_id=configuration.id,
        input_folder_id=inputs.id,
        output_folder_id=outputs.id,
        max_execution_seconds=600,
        parameters={"threshold": "70"},
    )


def pages(ids: list[str], model_id: str) -> dict[str, str]:
    """The pages measured, by name: the list at its ends and filtered, one job's page."""
    newest = ids[-1]
    return {
        "jobs, first page": "/jobs",
        "jobs, page 1000 (oldest)": f"/jobs?older_than={ids[50]}",
        "jobs, newer than the oldest": f"/jobs?newer_than={ids[0]}",
        "jobs, status FAILED": "/jobs?status=FAILED",
        "jobs, model": f"/jobs?model={model_id}",
        "jobs, text (rare)": "/jobs?q=failed+9997",
        "jobs, live rows": "/jobs/rows",
        "a job": f"/jobs/{newest}",
        "a job's summary": f"/jobs/{newest}/summary",
        "a job's outputs": f"/jobs/{newest}/outputs",
        "submit": "/submit",
    }


def measure(client: TestClient, paths: dict[str, str], requests: int) -> dict[str, float]:
    """The median and the slowest of `requests` asks of each page (after one more), in ms."""
    figures = {}
    for name, path in paths.items():
        client.get(path)  # a first ask compiles the templates and warms the caches
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            answer = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        figures[f"{name} p50"] = statistics.median(samples)
        figures[f"{name} max"] = max(samples)
    return figures


def run(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    services = Services.open(settings)
    try:
        tenant = services.store.tenants.create("bench")
        made = services.store.tenants.create_credentials("bench")
        started = time.perf_counter()
        ids = fill(services, tenant.id, args.stored)
        print(f"  {args.stored} jobs stored in {time.perf_counter() - started:.0f} s")
        model_id = services.store.jobs.get(tenant.id, ids[0]).model_id
        with TestClient(create_app(settings, services)) as client:
            client.get("/signin")
            client.post(
                "/signin",
                data={
                    "client_id": made.client_id,
                    "client_secret": made.client_secret,
                    "xsrf_token": client.cookies["XSRF-TOKEN"],
                },
            )
            return measure(client, pages(ids, model_id), args.requests)
    finally:
        services.close()


def quiet_settings(home: Path, **fields: object) -> Settings:
    return Settings(
        home=home,
        job_slots=0,
        warm_environments=0,
        scheduler_enabled=False,
        create_dev_tenant=False,
        **fields,  # type: ignore[arg-type]
    )


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"jm_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    print("SQLite:")
    results = {"sqlite": run(quiet_settings(Path(tempfile.mkdtemp()) / "home"), args)}
    print("PostgreSQL:")
    with postgres_database() as url:
        home = Path(tempfile.mkdtemp()) / "home"
        results["postgresql"] = run(quiet_settings(home, database_url=url), args)
    print(f"\n{'ms per page':<36}{'SQLite':>10}{'PostgreSQL':>12}")
    for key in results["sqlite"]:
        print(f"{key:<36}{results['sqlite'][key]:>10.1f}{results['postgresql'][key]:>12.1f}")
    slowest = max(max(figures.values()) for figures in results.values())
    print(f"slowest answer: {slowest:.1f} ms (goal: under 200 ms)")


if __name__ == "__main__":
    main()
