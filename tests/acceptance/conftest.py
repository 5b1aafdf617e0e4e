"""Fixtures for acceptance tests: the official client (`mdsp`) and a real server for it.

The client comes from npm. Where it cannot be installed, its tests skip with the
reason; on CI (CI=true) they fail instead, so a broken install is never silent.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from jobmanager.cli import local_service
from tests.acceptance.api import Caller
from tests.acceptance.mdsp import Mdsp, MdspUnavailable, install_mdsp
from tests.acceptance.server import ServerProcess
from tests.conftest import ON_CI, require_service

WORKER = (sys.executable, "-m", "jobmanager", "worker", "--slots", "1")
START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"


def redis_broker(database: int) -> str:
    """An emptied database of the local Redis as a Celery broker URL; one number per test
    file, so files run in parallel do not take each other's messages."""
    url = f"redis://127.0.0.1:6379/{database}"
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.RedisError as error:
        require_service("Redis", START_REDIS, error)
    return url


@pytest.fixture(autouse=True)
def no_local_service_left(tmp_path: Path) -> Iterator[None]:
    """A CLI command with no server configured starts a local service that outlives it:
    after each test, stop those of the homes under the test's folder."""
    yield
    for record in tmp_path.glob("**/local-service.json"):
        local_service.stop(record.parent)


@pytest.fixture
def caller_of() -> Iterator[Callable[[ServerProcess], Caller]]:
    """Makes an HTTP caller of a server with its dev tenant's token; all are closed after."""
    made: list[Caller] = []

    def caller(server: ServerProcess) -> Caller:
        made.append(Caller(server.url, server.token()))
        return made[-1]

    yield caller
    for each in made:
        each.close()


@pytest.fixture(scope="session")
def mdsp_binary() -> Path:
    """The `mdsp` executable of the pinned official client, installed once per machine."""
    try:
        return install_mdsp()
    except MdspUnavailable as error:
        if ON_CI:
            pytest.fail(f"the official client is needed on CI: {error}")
        pytest.skip(f"the official client is not available: {error}")


@pytest.fixture(scope="session")
def mdsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `jobmanager serve` (embedded SQLite, dev tenant) shared by the session's
    client tests; each test makes its own folders and models."""
    server = ServerProcess(tmp_path_factory.mktemp("mdsp-server") / "home").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mdsp(
    mdsp_binary: Path, mdsp_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Mdsp:
    """The official client logged in to `mdsp_server` as its dev tenant."""
    client = Mdsp(mdsp_binary, mdsp_server, tmp_path_factory.mktemp("mdsp-home"))
    client.login_dev()
    return client
