"""Send once, re-send only what is provably lost (store/sends.py), on SQLite and
PostgreSQL: the sweep's claim of the jobs whose message to send again."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import update

from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.store.tables import Job
from jobmanager.store.types import utcnow
from tests.integration.jobs.seed import Seed, seed


def waiting(services: Services, s: Seed, count: int) -> list[str]:
    return [services.store.jobs.create(s.tenant_id, "acme", s.job()).id for _ in range(count)]


def dispatched_at(services: Services, job_id: str) -> datetime | None:
    with services.db.reading() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.dispatched_at


def test_a_job_sent_lately_is_not_sent_again(services: Services) -> None:
    jobs = waiting(services, seed(services, max_environments=2), 3)
    assert all(dispatched_at(services, job) is not None for job in jobs)
    assert services.store.sends.resend(utcnow() - timedelta(seconds=60), queued=0) == []


def test_only_startable_jobs_are_sent_again_and_once(services: Services) -> None:
    jobs = waiting(services, seed(services, max_environments=2), 5)
    lost_since = utcnow()
    # Two free environment slots: the first two of the queue could start, no more.
    assert sorted(services.store.sends.resend(lost_since, queued=0)) == sorted(jobs[:2])
    assert services.store.sends.resend(lost_since, queued=0) == []  # sent just now


def test_messages_in_the_queue_count(services: Services) -> None:
    jobs = waiting(services, seed(services, max_environments=3), 5)
    lost_since = utcnow()
    assert services.store.sends.resend(lost_since, queued=3) == []
    assert services.store.sends.resend(lost_since, queued=2) == [jobs[0]]


def test_a_busy_slot_or_a_back_off_is_not_startable(services: Services) -> None:
    s = seed(services, max_environments=2)
    jobs = waiting(services, s, 3)
    claim = services.store.execution.claim_next("w1")
    assert claim is not None and claim.job.id == jobs[0]
    later = services.store.jobs.create(s.tenant_id, "acme", s.job())
    with services.db.transaction() as session:  # a retried job waiting out its back-off
        session.execute(
            update(Job).where(Job.id == jobs[1]).values(not_before=utcnow() + timedelta(hours=1))
        )
    assert services.store.sends.resend(utcnow(), queued=0) == [jobs[2]]
    assert later.id not in services.store.sends.resend(utcnow(), queued=0)


def test_a_failed_send_or_a_retry_is_sent_at_the_next_sweep(services: Services) -> None:
    jobs = waiting(services, seed(services, max_environments=2), 2)
    services.store.sends.unsent([jobs[1]])
    assert dispatched_at(services, jobs[1]) is None
    an_hour_ago = utcnow() - timedelta(hours=1)
    assert services.store.sends.resend(an_hour_ago, queued=0) == [jobs[1]]
    claim = services.store.execution.claim_next("w1")
    assert claim is not None and claim.job.id == jobs[0]
    services.store.jobs.transition(jobs[0], [JobStatus.STARTING], JobStatus.SUBMITTED)
    assert dispatched_at(services, jobs[0]) is None  # back to waiting: not sent yet


def test_two_sweeps_at_once_send_each_job_once(services: Services) -> None:
    jobs = waiting(services, seed(services, max_environments=20), 20)
    lost_since = utcnow()
    start = threading.Barrier(2)
    sent: list[list[str]] = [[], []]

    def sweep(number: int) -> None:
        start.wait()
        sent[number] = services.store.sends.resend(lost_since, queued=0)

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not set(sent[0]) & set(sent[1])
    assert sorted(sent[0] + sent[1]) == sorted(jobs)
