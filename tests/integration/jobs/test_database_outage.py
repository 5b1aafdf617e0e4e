"""A database restart on a private PostgreSQL (tests/acceptance/private_services.py):
the writes a job's story needs wait for it, and the reaper does not take the silence of
every heartbeat during the outage for dead workers; a background loop says the outage
once when it starts and once when it ends."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, ProgrammingError

from jobmanager.domain.statuses import JobStatus
from jobmanager.service.presence import Presence
from jobmanager.service.presence import worker as present_as
from jobmanager.service.reaper import Reaper
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.outages import patiently
from jobmanager.store.tables import Job
from jobmanager.store.types import utcnow
from tests.acceptance.private_services import PrivatePostgres, private_postgres
from tests.integration.jobs.seed import seed

__all__ = ["private_postgres"]  # the fixture this module uses
WORKER = "another-host:4242:abcd"


@pytest.fixture
def services(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        home=tmp_path / "home",
        database_url=private_postgres.url,
        create_dev_tenant=False,
        heartbeat_timeout_seconds=2,
        scheduler_enabled=False,
    )
    opened = Services.open(settings)
    yield opened
    opened.close()


def claimed_job(services: Services) -> str:
    s = seed(services)
    job = services.store.jobs.create(s.tenant_id, "acme", s.job())
    assert services.store.execution.claim_next(WORKER) is not None
    return job.id


def test_a_write_waits_for_a_restarting_database(
    services: Services, private_postgres: PrivatePostgres
) -> None:
    job_id = claimed_job(services)
    private_postgres.stop("fast")
    done = threading.Event()

    def beat() -> None:
        patiently(lambda: services.store.execution.heartbeat(WORKER), "beating")
        done.set()

    writer = threading.Thread(target=beat)
    writer.start()
    time.sleep(3)
    assert not done.is_set()  # still waiting: the database is away
    began = utcnow()
    private_postgres.start()
    writer.join(60)
    assert done.is_set()
    job = services.store.jobs.get_any(job_id)
    assert job is not None and job.heartbeat_at is not None and job.heartbeat_at >= began


def test_a_refused_write_is_not_tried_again(services: Services) -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        with services.db.transaction() as session:
            session.execute(sa.text("SELECT * FROM no_such_table"))

    with pytest.raises(ProgrammingError):
        patiently(broken, "reading nothing")
    assert len(calls) == 1


def test_the_reaper_waits_a_heartbeat_timeout_after_the_database_comes_back(
    services: Services, private_postgres: PrivatePostgres
) -> None:
    job_id = claimed_job(services)
    with services.db.transaction() as session:
        stale = utcnow() - timedelta(minutes=5)
        session.execute(sa.update(Job).where(Job.id == job_id).values(heartbeat_at=stale))
    reaper = Reaper(services.store, services.settings, "host:1:reaper")
    private_postgres.stop("fast")
    with pytest.raises(DBAPIError):
        reaper._round()
    private_postgres.start()

    assert reaper.reap_once() == 0  # every heartbeat was silenced, not every worker lost
    time.sleep(services.settings.heartbeat_timeout_seconds + 0.5)
    assert reaper.reap_once() == 1  # a whole timeout later, still silent: lost
    job = services.store.jobs.get_any(job_id)
    assert job is not None and job.status is JobStatus.FAILED


def test_a_background_loop_says_a_restart_once_not_each_round(
    services: Services, private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    """The presence loop, a round every 0.1 s: the database away for seconds is two
    lines, when it goes and when it is back with its length, and no traceback."""
    presence = Presence(services.store.members, present_as(WORKER), timeout=0.3)
    with caplog.at_level(logging.INFO, logger="jobmanager.loops"):
        presence.start()
        time.sleep(0.5)
        private_postgres.stop("fast")
        time.sleep(3)
        private_postgres.start()
        deadline = time.monotonic() + 60
        while "back after" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.2)
        presence.stop()
    said = [r for r in caplog.records if r.name == "jobmanager.loops"]
    assert len(said) == 2 and not any(r.exc_info for r in said), caplog.text
    assert said[0].getMessage().startswith("presence: the database is away")
    assert said[1].getMessage().startswith("presence: the database is back after")
