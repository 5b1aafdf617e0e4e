"""How long the fair claim takes as waiting jobs pile up (store/claims.py).

Each backend gets its own fresh database: SQLite in a temporary folder, PostgreSQL a
database made for the run and dropped after (JOBMANAGER_TEST_POSTGRES_URL, as the
tests). One tenant has N jobs waiting on a configuration with free slots, nine others
one job each; we time claims that start a job, and claims that find every queue
blocked (each configuration full), side by side for N = 100, 1,000 and 10,000.

Run: .venv/bin/python bench/claims.py
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from jobmanager.store.blob_factory import open_blob_store
from jobmanager.store.db import Database
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.store import Store
from jobmanager.store.tables import Configuration, DataEntry, Model, ModelVersion

POSTGRES_ADMIN = os.environ.get(
    "JOBMANAGER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SIZES = (100, 1_000, 10_000)
CLAIMS = 30


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"jm_bench_claims_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def job_spec(store: Store, tenant: str, slots: int) -> JobSpec:
    """A tenant with a model, a configuration of `slots` environments and folders."""
    tenant_id = store.tenants.create(tenant).id
    with store.db.transaction() as session:
        model = Model(tenant_id=tenant_id, name="note")
        configuration = Configuration(tenant_id=tenant_id, name="c", max_environments=slots)
        folder = DataEntry(
            tenant_id=tenant_id, parent_id="_PUBLIC_ROOT_ID", name="f", is_directory=True
        )
        session.add_all([model, configuration, folder])
        session.flush()
        session.add(
            ModelVersion(
                model_id=model.id,
                tenant_id=tenant_id,
                number=1,
                payload_key="0" * 32,
                payload_kind="zeppelin",
            )
        )
        return JobSpec(model.id, configuration.id, folder.id, folder.id, 60)


def fill(store: Store, tenant: str, spec: JobSpec, count: int) -> None:
    tenant_id = store.tenants.get_by_name(tenant).id
    with store.db.transaction() as session:
        for _ in range(count):
            store.jobs.insert(session, tenant_id, tenant, spec)


def per_claim(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    for _ in range(CLAIMS):
        action()
    return (time.perf_counter() - began) / CLAIMS * 1000


def measure(url: str, waiting: int, slots: int) -> float:
    db = Database(url)
    db.migrate()
    with tempfile.TemporaryDirectory() as blobs:
        store = Store(db, open_blob_store(blobs))
        fill(store, "big", job_spec(store, "big", slots), waiting)
        for n in range(9):
            fill(store, f"small{n}", job_spec(store, f"small{n}", slots), 1)
        # slots 0: every queue is blocked; the claim looks at every head and starts none.
        return per_claim(lambda: store.execution.claim_next("bench"))


def main() -> None:
    print(f"ms per claim ({CLAIMS} claims), one tenant with N waiting, nine with one")
    print(f"{'backend':<10} {'claim':<16}" + "".join(f"{f'N={n:,}':>12}" for n in SIZES))
    for backend, made in (("sqlite", sqlite_url), ("postgres", postgres_url)):
        for label, slots in (("starts a job", 100_000), ("all blocked", 0)):
            figures = []
            for waiting in SIZES:
                with made() as url:
                    figures.append(measure(url, waiting, slots))
            ratio = f"  (x{figures[-1] / figures[0]:.1f} from N={SIZES[0]:,})"
            print(f"{backend:<10} {label:<16}" + "".join(f"{f:12.2f}" for f in figures) + ratio)


if __name__ == "__main__":
    main()
