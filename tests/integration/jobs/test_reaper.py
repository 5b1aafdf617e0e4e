"""The reaper and the retention purge, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from jobmanager.domain.statuses import JobStatus
from jobmanager.service.reaper import Reaper
from jobmanager.startup.services import Services
from jobmanager.store.tables import Job
from jobmanager.store.types import utcnow
from tests.integration.jobs.seed import seed

ELSEWHERE = "another-host:4242:abcd"


def age(services: Services, job_id: str, **columns: object) -> None:
    with services.db.transaction() as session:
        session.execute(sa.update(Job).where(Job.id == job_id).values(**columns))


def claimed_job(services: Services) -> tuple[str, str]:
    s = seed(services)
    job = services.store.jobs.create(s.tenant_id, "acme", s.job())
    claim = services.store.execution.claim_next(ELSEWHERE)
    assert claim is not None
    return job.id, claim.environment_id


def test_a_job_without_heartbeat_fails_and_its_outputs_are_salvaged(
    services: Services, tmp_path: Path
) -> None:
    job_id, environment_id = claimed_job(services)
    output = tmp_path / "env" / "work" / "output"
    (output / "sub").mkdir(parents=True)
    (output / "sub" / "result.txt").write_text("half-way")
    services.store.execution.attach_environment(environment_id, str(tmp_path / "env"), "m")
    age(services, job_id, heartbeat_at=utcnow() - timedelta(minutes=5))
    reaper = Reaper(services.store, services.settings, "host:1:reaper")

    assert reaper.reap_once() == 1
    job = services.store.jobs.get_any(job_id)
    assert job is not None and job.status is JobStatus.FAILED
    assert job.message.startswith("Environment lost [")
    assert "1 output files salvaged" in job.message
    tree = dict(services.store.dataexchange.list_tree(job.tenant_id, job.output_folder_id))
    assert list(tree) == ["sub/result.txt"]
    salvaged = services.store.outputs.find(job.tenant_id, job_id, "sub/result.txt")
    assert salvaged is not None and salvaged.size == len("half-way")  # the job's own output
    assert services.store.execution.environments() == []
    assert not (tmp_path / "env").exists()
    assert reaper.reap_once() == 0


def test_a_live_heartbeat_is_left_alone(services: Services) -> None:
    job_id, _ = claimed_job(services)
    services.store.execution.heartbeat(ELSEWHERE)
    assert Reaper(services.store, services.settings, "host:1:reaper").reap_once() == 0
    job = services.store.jobs.get_any(job_id)
    assert job is not None and job.status is JobStatus.STARTING


def test_a_lost_job_that_was_stopping_ends_stopped(services: Services) -> None:
    job_id, _ = claimed_job(services)
    job = services.store.jobs.get_any(job_id)
    assert job is not None
    services.store.jobs.request_stop(job.tenant_id, job_id)
    age(services, job_id, heartbeat_at=utcnow() - timedelta(minutes=5))
    Reaper(services.store, services.settings, "host:1:reaper").reap_once()
    stopped = services.store.jobs.get_any(job_id)
    assert stopped is not None and stopped.status is JobStatus.STOPPED
    assert "environment was lost" in stopped.message


def test_retention_purges_only_old_final_jobs(services: Services) -> None:
    s = seed(services)
    jobs = services.store.jobs
    old, recent, waiting = (jobs.create(s.tenant_id, "acme", s.job()) for _ in range(3))
    for job in (old, recent):
        jobs.transition(job.id, [JobStatus.SUBMITTED], JobStatus.STOPPED, message="m")
    age(services, old.id, end_date=utcnow() - timedelta(days=91))
    age(services, waiting.id, creation_date=utcnow() - timedelta(days=400))
    reaper = Reaper(services.store, services.settings, "host:1:reaper")
    assert reaper.purge_once() == 1
    assert services.store.jobs.get_any(old.id) is None
    assert services.store.jobs.get_any(recent.id) is not None
    assert services.store.jobs.get_any(waiting.id) is not None
