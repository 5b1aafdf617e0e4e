"""Fixtures for every tier: settings on a fresh store (SQLite or the real PostgreSQL), an app,
an authenticated HTTP client per tenant.

PostgreSQL tests run on a database made for this test session and dropped after it.
With CI=true a missing PostgreSQL fails the run; elsewhere those tests skip with a
message saying what to start.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import hypothesis
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jobmanager.auth.keys import KeyRing
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.db import Database
from jobmanager.store.tables import Base
from jobmanager.web.app import create_app
from tests.s3 import INSTALL as MOTO_INSTALL
from tests.s3 import MotoServer, MotoUnavailable

POSTGRES_ADMIN_URL = os.environ.get(
    "JOBMANAGER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
ON_CI = os.environ.get("CI", "").lower() == "true"

# Hypothesis's clocks measure the machine, not the code: where several suites share two
# cores, slow example generation or a slow example fails properties that hold.
hypothesis.settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("shared-machine")


def require_service(name: str, how_to_start: str, error: Exception) -> None:
    """Fail on CI, skip elsewhere, always saying what is missing and how to start it."""
    message = f"{name} is not reachable ({error}); start it with: {how_to_start}"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def own_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on leaving."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        require_service("PostgreSQL", START_POSTGRES, error)
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with own_postgres_database("jm_test") as url:
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real S3 server (moto's `moto_server` process) for the session; each test makes
    its own bucket with `moto.new_bucket()`."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.start()
    except MotoUnavailable as error:
        require_service("The S3 server (moto)", MOTO_INSTALL, error)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: cheaper than migrating every time."""
    path = tmp_path_factory.mktemp("template") / "jobmanager.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def key_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    KeyRing.load_or_create(folder)
    return folder


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "home" / "jobmanager.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, key_folder: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(key_folder, home / "keys")
    return Settings(
        home=home,
        database_url=database_url,
        create_dev_tenant=False,
        job_slots=2,
        warm_environments=0,
        scheduler_enabled=False,
        notifications_enabled=False,
        disk_reserve_mib=0,  # not 8 MiB in every test's home: test_disk_space.py tests it
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    opened = Services.open(settings, migrate=False)
    yield opened
    opened.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class TenantClient:
    """A tenant with credentials and a token, and the headers that carry it."""

    name: str
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def make_tenant(services: Services, client: TestClient, name: str) -> TenantClient:
    services.store.tenants.create(name)
    made = services.store.tenants.create_credentials(name)
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(made.client_id, made.client_secret)},
    )
    assert answer.status_code == 200, answer.text
    return TenantClient(name, made.client_id, made.client_secret, answer.json()["access_token"])


@pytest.fixture
def tenant_a(services: Services, client: TestClient) -> TenantClient:
    return make_tenant(services, client, "tenant-a")


@pytest.fixture
def tenant_b(services: Services, client: TestClient) -> TenantClient:
    return make_tenant(services, client, "tenant-b")


def assert_error(response: httpx.Response, status: int) -> dict[str, str]:
    """The response is an error in the SPEC's format with this status; return its one error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert set(error) == {"code", "logref", "message"}, error
    assert error["message"]
    assert error["logref"]
    assert error["code"]
    return dict(error)
