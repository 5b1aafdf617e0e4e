"""The reaper's same-host check (docs/deploy.md, Defaults that matter): a job whose
worker ran on this host and whose process is gone is taken over at once, with a heartbeat
still fresh; a live process on this host, or a worker of another host, is left to the
heartbeat's timeout. On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from jobmanager.domain.statuses import JobStatus
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.service.reaper import Reaper
from jobmanager.startup.services import Services
from tests.integration.jobs.seed import seed

HERE = socket.gethostname()


def job_of(services: Services, worker_id: str) -> str:
    """A job claimed by `worker_id`, its heartbeat just beaten."""
    s = seed(services)
    job = services.store.jobs.create(s.tenant_id, "acme", s.job())
    assert services.store.execution.claim_next(worker_id) is not None
    services.store.execution.heartbeat(worker_id)
    return job.id


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def reap(services: Services, job_id: str) -> JobStatus:
    Reaper(services.store, services.settings, str(WorkerId.new(HERE, 1, "reaper"))).reap_once()
    job = services.store.jobs.get_any(job_id)
    assert job is not None
    return job.status


def test_a_job_whose_worker_process_on_this_host_is_gone_is_taken_over_at_once(
    services: Services, dead_pid: int
) -> None:
    job_id = job_of(services, str(WorkerId.new(HERE, dead_pid)))
    assert reap(services, job_id) is JobStatus.FAILED  # no retry policy: the default
    job = services.store.jobs.get_any(job_id)
    assert job is not None and job.message.startswith("Environment lost [")


def test_a_live_worker_process_on_this_host_is_left_alone(
    services: Services, live_pid: int
) -> None:
    job_id = job_of(services, str(WorkerId.new(HERE, live_pid)))
    assert reap(services, job_id) is JobStatus.STARTING


def test_a_worker_of_another_host_waits_for_its_heartbeat_to_age(
    services: Services, dead_pid: int
) -> None:
    job_id = job_of(services, str(WorkerId.new(f"{HERE}-elsewhere", dead_pid)))
    assert reap(services, job_id) is JobStatus.STARTING
