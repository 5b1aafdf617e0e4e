"""Retries on SQLite and PostgreSQL: a lost attempt goes back to wait for its next one,
with its outputs under its name and the attempt recorded; a stale worker's moves are
refused; the back-off keeps the job from starting early."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from jobmanager.domain.statuses import JobStatus
from jobmanager.service.reaper import Reaper
from jobmanager.startup.services import Services
from jobmanager.store.tables import Configuration
from jobmanager.store.types import utcnow
from tests.integration.jobs.seed import Seed, seed
from tests.integration.jobs.test_reaper import ELSEWHERE, age

LOST = {"maxRetries": 1, "retryOn": ["environmentLost"], "backoff": {"initialSeconds": 30}}


def lose(services: Services, s: Seed, tmp_path: Path, **job: object) -> str:
    """A job claimed elsewhere, with an output written, whose heartbeat stopped."""
    made = services.store.jobs.create(s.tenant_id, "acme", s.job(**job))
    claim = services.store.execution.claim_next(ELSEWHERE)
    assert claim is not None and claim.job.id == made.id
    output = tmp_path / made.id / "work" / "output"
    output.mkdir(parents=True)
    (output / "half.txt").write_text("before the kill")
    services.store.execution.attach_environment(claim.environment_id, str(output.parents[1]), "")
    age(services, made.id, heartbeat_at=utcnow() - timedelta(minutes=5))
    assert Reaper(services.store, services.settings, "host:1:reaper").reap_once() == 1
    return made.id


def test_a_lost_attempt_is_retried_with_its_outputs_under_its_name(
    services: Services, tmp_path: Path
) -> None:
    s = seed(services)
    job_id = lose(services, s, tmp_path, retry=LOST)
    job = services.store.jobs.get(s.tenant_id, job_id)
    assert job.status is JobStatus.SUBMITTED and job.attempt == 2
    assert job.message.startswith("Retrying in 30 s: attempt 2 of 2 [Environment lost [")
    [first] = job.attempts
    assert (first.number, first.worker_id, first.outcome) == (1, ELSEWHERE, "FAILED")
    assert first.ended_at is not None and first.message == job.message
    tree = dict(services.store.dataexchange.list_tree(s.tenant_id, s.output_id))
    assert list(tree) == ["attempt-1/half.txt"]
    assert services.store.execution.environments() == []
    # Were the first worker still about, its monitor would see the job is not its own.
    assert services.store.execution.taken_over(ELSEWHERE, [job_id]) == [job_id]

    assert services.store.execution.claim_next("w2") is None  # the back-off is not over
    age(services, job_id, not_before=utcnow() - timedelta(seconds=1))
    claim = services.store.execution.claim_next("w2")
    assert claim is not None and claim.job.id == job_id and claim.job.attempt == 2
    assert services.store.execution.taken_over("w2", [job_id]) == []
    assert services.store.jobs.transition(
        job_id, [JobStatus.STARTING], JobStatus.RUNNING, of_attempt=2
    )
    # The first attempt's worker, were it still about, can no longer move the job.
    assert not services.store.jobs.transition(
        job_id, [JobStatus.RUNNING], JobStatus.SUCCEEDED, of_attempt=1
    )
    assert services.store.jobs.transition(
        job_id, [JobStatus.RUNNING], JobStatus.SUCCEEDED, of_attempt=2, message="done"
    )
    attempts = services.store.jobs.get(s.tenant_id, job_id).attempts
    assert [(a.number, a.worker_id, a.outcome) for a in attempts] == [
        (1, ELSEWHERE, "FAILED"),
        (2, "w2", "SUCCEEDED"),
    ]
    assert attempts[0].ended_at is not None and attempts[1].started_at >= attempts[0].ended_at


def test_the_configurations_policy_holds_when_the_job_has_none(
    services: Services, tmp_path: Path
) -> None:
    s = seed(services)
    with services.db.transaction() as session:
        session.get_one(Configuration, s.configuration_id).retry = LOST
    job = services.store.jobs.get(s.tenant_id, lose(services, s, tmp_path))
    assert job.status is JobStatus.SUBMITTED and job.attempt == 2


def test_without_a_policy_or_retries_left_a_lost_job_fails(
    services: Services, tmp_path: Path
) -> None:
    s = seed(services, max_environments=2)
    plain = services.store.jobs.get(s.tenant_id, lose(services, s, tmp_path))
    assert plain.status is JobStatus.FAILED and plain.message.startswith("Environment lost [")
    assert [(a.number, a.outcome) for a in plain.attempts] == [(1, "FAILED")]
    no_retry = {**LOST, "maxRetries": 0}
    other = services.store.jobs.get(s.tenant_id, lose(services, s, tmp_path, retry=no_retry))
    assert other.status is JobStatus.FAILED
    tree = dict(services.store.dataexchange.list_tree(s.tenant_id, s.output_id))
    assert list(tree) == ["half.txt"]  # a final attempt's outputs are at the top
