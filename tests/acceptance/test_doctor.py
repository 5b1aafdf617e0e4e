"""`jobmanager doctor` as an operator runs it, against real processes: the embedded
default and a cluster (PostgreSQL, a Redis broker, an S3 server, a Celery worker) pass;
a wrong database URL, a broker port where nothing listens and a wrong S3 endpoint each
fail, naming what is wrong, and the checks that need it are skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import free_port
from tests.egress_hosts import path_without
from tests.s3 import MotoServer

CHECKS = [
    "settings",
    "database",
    "broker",
    "object store",
    "sandbox",
    "job network",
    "trivial job",
]


def run_doctor(home: Path, **settings: str) -> tuple[int, dict[str, str]]:
    """Exit code and each check's line by its name, e.g. {"database": "FAIL  database ..."}."""
    env = {**os.environ, "JOBMANAGER_HOME": str(home), **settings}
    done = subprocess.run(
        [sys.executable, "-m", "jobmanager", "doctor", "--timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = {}
    for line in done.stdout.splitlines():
        name = next((check for check in CHECKS if line[6:].startswith(check)), None)
        if name is not None:
            lines[name] = line
    assert list(lines) == CHECKS, done.stdout + done.stderr
    return done.returncode, lines


def status(line: str) -> str:
    return line.split()[0]


def test_the_embedded_default_is_healthy(tmp_path: Path) -> None:
    code, lines = run_doctor(tmp_path / "home")
    assert code == 0, lines
    assert {status(line) for line in lines.values()} == {"OK"}
    assert "it had no tables: made them" in lines["database"]
    assert "ran and saved its output" in lines["trivial job"]
    code, lines = run_doctor(tmp_path / "home")  # again: the tables are there now
    assert code == 0, lines
    assert "answers, migrated to" in lines["database"]


def test_without_the_network_stack_doctor_warns_naming_the_package(tmp_path: Path) -> None:
    """Only jobs that ask for network would be refused: a warning, and the trivial job runs."""
    path = path_without("slirp4netns", tmp_path / "bin")
    code, lines = run_doctor(tmp_path / "home", PATH=path)
    assert code == 0, lines
    assert status(lines["job network"]) == "WARN"
    assert "slirp4netns is not installed (apt-get install slirp4netns)" in lines["job network"]
    assert status(lines["trivial job"]) == "OK"


@pytest.fixture
def worker(tmp_path: Path, postgres_url: str, moto: MotoServer) -> Iterator[dict[str, str]]:
    """A cluster's settings, and a `jobmanager worker` on them with a home of its own."""
    settings = {
        **moto.settings_env(),
        "JOBMANAGER_DATABASE_URL": postgres_url,
        "JOBMANAGER_BLOB_URL": f"s3://{moto.new_bucket()}/blobs",
        "JOBMANAGER_DISPATCH": "celery",
        "JOBMANAGER_BROKER_URL": redis_broker(12),
    }
    env = {**os.environ, **settings, "JOBMANAGER_HOME": str(tmp_path / "worker")}
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            WORKER, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    yield settings
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.postgres
def test_a_cluster_runs_the_trivial_job_on_its_worker(
    tmp_path: Path, worker: dict[str, str]
) -> None:
    code, lines = run_doctor(tmp_path / "api", **worker)
    assert code == 0, lines
    assert "answers" in lines["broker"]
    assert "s3://" in lines["object store"]
    assert "ran and saved its output" in lines["trivial job"]


def test_a_wrong_database_url_is_named(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    code, lines = run_doctor(tmp_path / "home", JOBMANAGER_DATABASE_URL=url)
    assert code == 1
    assert status(lines["database"]) == "FAIL"
    assert "cannot connect to" in lines["database"]
    assert "Connection refused" in lines["database"]
    assert "JOBMANAGER_DATABASE_URL" in lines["database"]
    assert status(lines["object store"]) == "OK"  # the others are still checked
    assert lines["trivial job"].endswith("skipped: needs database")


def test_a_broker_port_where_nothing_listens_is_named(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, lines = run_doctor(
        tmp_path / "home", JOBMANAGER_DISPATCH="celery", JOBMANAGER_BROKER_URL=url
    )
    assert code == 1
    assert status(lines["broker"]) == "FAIL"
    assert f"cannot reach the broker at {url}" in lines["broker"]
    assert "Connection refused" in lines["broker"]
    assert lines["trivial job"].endswith("skipped: needs broker")


def test_a_wrong_s3_endpoint_is_named(tmp_path: Path, moto: MotoServer) -> None:
    settings = {
        **moto.settings_env(),
        "JOBMANAGER_BLOB_URL": "s3://some-bucket/blobs",
        "JOBMANAGER_BLOB_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
    }
    code, lines = run_doctor(tmp_path / "home", **settings)
    assert code == 1
    assert status(lines["object store"]) == "FAIL"
    assert "cannot write to s3://some-bucket/blobs" in lines["object store"]
    assert "Could not connect to the endpoint URL" in lines["object store"]
    assert "JOBMANAGER_BLOB_ENDPOINT_URL" in lines["object store"]
    assert lines["trivial job"].endswith("skipped: needs object store")


def test_a_missing_bucket_is_named(tmp_path: Path, moto: MotoServer) -> None:
    settings = {**moto.settings_env(), "JOBMANAGER_BLOB_URL": "s3://no-such-bucket/blobs"}
    code, lines = run_doctor(tmp_path / "home", **settings)
    assert code == 1
    assert "bucket does not exist" in lines["object store"]


def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "JOBMANAGER_HOME": str(tmp_path / "home"), "JOBMANAGER_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "jobmanager", "doctor"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL  settings       JOBMANAGER_PORT: Input should be")
