"""`jobmanager doctor` as an operator runs it, against real processes: the embedded
default and a cluster (PostgreSQL, a Redis broker, an S3 server, a Celery worker) pass;
a wrong database URL, a broker port where nothing listens and a wrong S3 endpoint each
fail, naming what is wrong, and the checks that need it are skipped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import ServerProcess, free_port
from tests.conftest import own_postgres_database
from tests.egress_hosts import path_without
from tests.s3 import MotoServer

CHECKS = [
    "settings",
    "database",
    "broker",
    "object store",
    "sandbox",
    "job network",
    "replicas",
    "workers",
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
    wait_for_line(tmp_path / "worker.log", "taking jobs with", process)
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
    assert lines["workers"].startswith("OK    workers        1 up, on ")
    assert "no API replica seen in the last 15 s" in lines["replicas"]


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


@pytest.mark.postgres
def test_no_worker_up_is_said_at_once(tmp_path: Path) -> None:
    with own_postgres_database("jm_doctor") as url:
        started = time.monotonic()
        code, lines = run_doctor(
            tmp_path / "home",
            JOBMANAGER_DATABASE_URL=url,
            JOBMANAGER_DISPATCH="celery",
            JOBMANAGER_BROKER_URL=redis_broker(12),
        )
        assert time.monotonic() - started < 60  # not the trivial job's 120 s
    assert code == 1
    assert (
        "FAIL  workers        no worker is up: none was seen in the last 15 s" in lines["workers"]
    )
    assert lines["trivial job"].endswith("skipped: needs workers")


@pytest.mark.postgres
def test_replicas_must_share_the_signing_keys_and_the_public_url(tmp_path: Path) -> None:
    """Real replicas on one database: two that share keys and URL pass; one with keys of
    its own, or another public URL, fails naming the replicas."""
    with own_postgres_database("jm_doctor") as url:
        cluster = {"JOBMANAGER_DATABASE_URL": url, "JOBMANAGER_BLOB_URL": str(tmp_path / "blobs")}
        shared = {**cluster, "JOBMANAGER_JOB_SLOTS": "0", "JOBMANAGER_PUBLIC_URL": PUBLIC}
        first = replica(tmp_path / "a" / "home", shared)
        copy_keys(first.home, tmp_path / "b" / "home")
        second = replica(tmp_path / "b" / "home", shared)
        try:
            code, lines = run_doctor(tmp_path / "doctor", **cluster)
            assert code == 0, lines
            assert "OK    replicas       2 seen, all sign tokens with key-" in lines["replicas"]
            assert f"and name {PUBLIC}" in lines["replicas"]
            stranger(tmp_path / "c" / "home", shared, cluster, "sign tokens with different keys")
            copy_keys(first.home, tmp_path / "d" / "home")
            elsewhere = {**shared, "JOBMANAGER_PUBLIC_URL": "https://other.example.com"}
            stranger(tmp_path / "d" / "home", elsewhere, cluster, "name different public URLs")
        finally:
            second.stop()
            first.stop()


PUBLIC = "https://jobs.example.com"


def replica(home: Path, env: dict[str, str]) -> ServerProcess:
    home.mkdir(parents=True, exist_ok=True)
    return ServerProcess(home, env).start(60)


def copy_keys(home: Path, other: Path) -> None:
    other.mkdir(parents=True)
    shutil.copytree(home / "keys", other / "keys")


def stranger(home: Path, env: dict[str, str], cluster: dict[str, str], said: str) -> None:
    """A third replica that differs: doctor fails naming it, and passes once it stopped."""
    third = replica(home, env)
    try:
        code, lines = run_doctor(home.parent / "doctor", **cluster)
        assert code == 1
        assert lines["replicas"].startswith("FAIL  replicas       the replicas "), lines
        assert said in lines["replicas"] and ":api" in lines["replicas"]
    finally:
        third.stop()
    deadline = time.monotonic() + 60  # its presence goes with it (or ages out)
    while (
        code := run_doctor(home.parent / "doctor", **cluster)[0]
    ) and time.monotonic() < deadline:
        time.sleep(1)
    assert code == 0


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
    assert lines["trivial job"].endswith("skipped: needs broker, workers")


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
