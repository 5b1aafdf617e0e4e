"""A real `jobmanager serve` process on the embedded default, driven over HTTP."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.server import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "home").start()
    yield process
    process.stop()


def test_first_start_makes_dev_tenant_and_a_token_reaches_the_api(server: ServerProcess) -> None:
    credentials = server.home / "dev-credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE((server.home / "keys" / "signing.pem").stat().st_mode) == 0o600
    assert server.dev_credentials()["tenant"] == "dev"
    token = server.token()
    answer = httpx.get(
        f"{server.url}/api/identity/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert answer.json()["tenant"] == "dev"
    assert "dev credentials" in server.log() or "dev tenant" in server.log()


def test_start_up_log_masks_secrets_and_errors_carry_logref(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "home", extra_env={"JOBMANAGER_BROKER_URL": "amqp://guest:s3cret@localhost//"}
    ).start()
    try:
        answer = httpx.get(f"{server.url}/api/identity/v1/me")
        assert answer.status_code == 401
        logref = answer.json()["errors"][0]["logref"]
        log = server.log()
        assert logref in log
        assert "s3cret" not in log
        assert "Traceback" not in log
    finally:
        server.stop()


def test_restart_keeps_keys_and_credentials(server: ServerProcess) -> None:
    token = server.token()
    server.stop()
    server.start()
    answer = httpx.get(
        f"{server.url}/api/identity/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200


def test_serve_example_runs_the_example_job_to_success(tmp_path: Path) -> None:
    """What `make run` does: the service, and the example job shown from submit to end."""
    server = ServerProcess(tmp_path / "home", args=("--example",)).start()
    try:
        deadline = time.monotonic() + 90
        # The example's last line comes after the outputs are listed.
        while "The service keeps running" not in server.log() and time.monotonic() < deadline:
            assert "example job FAILED" not in server.log(), server.log()
            time.sleep(0.2)
        log = server.log()
        assert "example job SUCCEEDED" in log, log
        for output in ("summary.csv", "chart.png", "sensor report_2MEXAMPLE.zpln"):
            assert f"output: {output}" in log
        assert "RUNNING" in log and "paragraph" in log
    finally:
        server.stop()


def test_health_says_the_jobs_are_sandboxed(server: ServerProcess) -> None:
    health = httpx.get(f"{server.url}/health").json()
    assert health["isolation"] == "sandbox"
    assert "warning" not in health
    assert "isolation: sandbox" in server.log()


def test_process_isolation_is_a_warning_at_start_and_in_health(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home", extra_env={"JOBMANAGER_ISOLATION": "process"})
    server.start()
    try:
        health = httpx.get(f"{server.url}/health").json()
        assert health["isolation"] == "process"
        assert "not sandboxed" in health["warning"]
        assert "WARNING jobmanager.runtime: isolation: process" in server.log()
    finally:
        server.stop()


def test_serve_refuses_to_start_when_it_cannot_make_a_sandbox(tmp_path: Path) -> None:
    """As on a host without user namespaces: bubblewrap cannot make the sandbox."""
    server = ServerProcess(tmp_path / "home", extra_env={"JOBMANAGER_BWRAP": "/bin/false"})
    with pytest.raises(RuntimeError, match="server exited early"):
        server.start(timeout=30)
    assert server.process is not None and server.process.returncode != 0
    log = server.log()
    assert "jobs cannot be isolated here" in log
    assert "JOBMANAGER_ISOLATION=process" in log
    assert "Traceback" not in log
