"""The job store on SQLite and PostgreSQL: references, the compare-and-set, claims and slots."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from jobmanager.domain.errors import InvalidInput, NotFound
from jobmanager.domain.events import EventKind
from jobmanager.domain.filter_fields import JOB_FILTER_FIELDS
from jobmanager.domain.filters import parse_filter
from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.store.jobs import JobRecord
from jobmanager.store.types import utcnow
from tests.integration.jobs.seed import add_configuration, seed

STATUS = {"status": JOB_FILTER_FIELDS}


def test_create_checks_every_reference(services: Services) -> None:
    s = seed(services)
    jobs = services.store.jobs
    job = jobs.create(s.tenant_id, "acme", s.job())
    assert job.status is JobStatus.SUBMITTED and job.message == ""
    cases = {
        "modelId": s.job(model_id="nope"),
        "configurationId": s.job(configuration_id="nope"),
        "inputFolderId": s.job(input_folder_id="nope"),
        "outputFolderId": s.job(output_folder_id="nope"),
        "modelVersionId": s.job(model_version_id="nope"),
    }
    for field, request in cases.items():
        with pytest.raises(InvalidInput, match=field):
            jobs.create(s.tenant_id, "acme", request)
    assert jobs.list_page(s.tenant_id, offset=0, limit=100)[1] == 1


def test_a_model_that_is_not_a_notebook_is_refused(services: Services) -> None:
    s = seed(services, kind="other")
    with pytest.raises(InvalidInput, match=r"modelId.*Zeppelin note"):
        services.store.jobs.create(s.tenant_id, "acme", s.job())


def test_another_tenants_resources_cannot_be_named_or_seen(services: Services) -> None:
    a = seed(services, "a")
    b = seed(services, "b")
    with pytest.raises(InvalidInput, match="modelId"):
        services.store.jobs.create(b.tenant_id, "b", a.job(configuration_id=b.configuration_id))
    job = services.store.jobs.create(a.tenant_id, "a", a.job())
    with pytest.raises(NotFound):
        services.store.jobs.get(b.tenant_id, job.id)
    assert services.store.jobs.list_page(b.tenant_id, offset=0, limit=100) == ([], 0)


def test_root_folders_are_valid_inputs(services: Services) -> None:
    s = seed(services)
    job = services.store.jobs.create(s.tenant_id, "acme", s.job(input_folder_id="_PRIVATE_ROOT_ID"))
    assert job.input_folder_id == "_PRIVATE_ROOT_ID"


def test_idempotency_token_answers_the_first_job(services: Services) -> None:
    s = seed(services)
    first = services.store.jobs.create(s.tenant_id, "acme", s.job(idempotency_token="t-1"))
    again = services.store.jobs.create(s.tenant_id, "acme", s.job(idempotency_token="t-1"))
    assert again.id == first.id
    other = services.store.jobs.create(s.tenant_id, "acme", s.job(idempotency_token="t-2"))
    assert other.id != first.id


def test_transition_is_a_compare_and_set(services: Services) -> None:
    s = seed(services)
    jobs = services.store.jobs
    job = jobs.create(s.tenant_id, "acme", s.job())
    assert not jobs.transition(job.id, [JobStatus.STARTING], JobStatus.RUNNING)
    assert jobs.transition(job.id, [JobStatus.SUBMITTED], JobStatus.STOPPED, message="m")
    stopped = jobs.get(s.tenant_id, job.id)
    assert stopped.status is JobStatus.STOPPED and stopped.end_date is not None
    with pytest.raises(ValueError, match="not allowed"):
        jobs.transition(job.id, [JobStatus.STOPPED], JobStatus.RUNNING)
    with pytest.raises(ValueError, match="cannot set"):
        jobs.transition(job.id, [JobStatus.RUNNING], JobStatus.FAILED, status="x")


def test_only_one_of_many_concurrent_claims_wins(services: Services) -> None:
    s = seed(services, max_environments=5)
    services.store.jobs.create(s.tenant_id, "acme", s.job())
    results: list[object] = []
    barrier = threading.Barrier(6)

    def claim(number: int) -> None:
        barrier.wait()
        results.append(services.store.execution.claim_next(f"w{number}"))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    assert len(services.store.execution.environments()) == 1


def test_max_environments_queue_keeps_the_job_waiting_with_a_message(services: Services) -> None:
    s = seed(services, max_environments=1)
    jobs, execution = services.store.jobs, services.store.execution
    first = jobs.create(s.tenant_id, "acme", s.job())
    second = jobs.create(s.tenant_id, "acme", s.job())
    claim = execution.claim_next("w1")
    assert claim is not None and claim.job.id == first.id
    assert claim.job.status is JobStatus.STARTING
    assert execution.claim_next("w2") is None
    waiting = jobs.get(s.tenant_id, second.id)
    assert waiting.status is JobStatus.SUBMITTED
    assert "Waiting for an environment" in waiting.message
    execution.release_environment(claim.environment_id)
    later = execution.claim_next("w2")
    assert later is not None and later.job.id == second.id


def test_when_busy_fail_ends_the_job_with_the_message_chain(services: Services) -> None:
    s = seed(services, max_environments=1, when_busy="fail")
    jobs, execution = services.store.jobs, services.store.execution
    jobs.create(s.tenant_id, "acme", s.job())
    second = jobs.create(s.tenant_id, "acme", s.job())
    assert execution.claim_next("w1") is not None
    assert execution.claim_next("w2") is None
    failed = jobs.get(s.tenant_id, second.id)
    assert failed.status is JobStatus.FAILED
    assert failed.message == (
        "Failed to start environment "
        "[An environment has already been started for the configuration]"
    )


def test_a_busy_configuration_does_not_block_other_configurations(services: Services) -> None:
    s = seed(services, max_environments=1)
    other = add_configuration(services, s.tenant_id, max_environments=1)
    jobs, execution = services.store.jobs, services.store.execution
    jobs.create(s.tenant_id, "acme", s.job())
    jobs.create(s.tenant_id, "acme", s.job())
    third = jobs.create(s.tenant_id, "acme", s.job(configuration_id=other))
    assert execution.claim_next("w1") is not None
    claim = execution.claim_next("w2")
    assert claim is not None and claim.job.id == third.id


def test_stop_request_for_each_status(services: Services) -> None:
    s = seed(services, max_environments=3)
    jobs, execution = services.store.jobs, services.store.execution
    waiting = jobs.create(s.tenant_id, "acme", s.job())
    assert jobs.request_stop(s.tenant_id, waiting.id).status is JobStatus.STOPPED
    live = jobs.create(s.tenant_id, "acme", s.job())
    assert execution.claim_next("w") is not None
    stopping = jobs.request_stop(s.tenant_id, live.id)
    assert stopping.status is JobStatus.STOPPING and stopping.stop_requested
    assert execution.stopping_jobs("w") == [live.id]
    assert jobs.request_stop(s.tenant_id, live.id).status is JobStatus.STOPPING
    assert jobs.request_stop(s.tenant_id, waiting.id).status is JobStatus.STOPPED


def test_list_is_newest_first_paged_and_filtered(services: Services) -> None:
    s = seed(services)
    jobs = services.store.jobs
    made = [jobs.create(s.tenant_id, "acme", s.job()) for _ in range(5)]
    jobs.transition(made[0].id, [JobStatus.SUBMITTED], JobStatus.FAILED, message="Error: boom")
    page, total = jobs.list_page(s.tenant_id, offset=0, limit=2)
    assert total == 5 and [j.id for j in page] == [made[4].id, made[3].id]
    assert jobs.list_page(s.tenant_id, offset=6, limit=2) == ([], 5)
    fields = STATUS["status"]

    def matching(text: str) -> tuple[list[JobRecord], int]:
        return jobs.list_page(s.tenant_id, offset=0, limit=100, flt=parse_filter(text, fields))

    failed = '{"status": {"or": [{"eq": "FAILED"}, {"eq": "STOPPED"}]}}'
    assert [j.id for j in matching(failed)[0]] == [made[0].id]
    assert matching('{"message": {"contains": "error"}}')[1] == 0  # contains is case-sensitive
    assert matching('{"message": {"contains": "Error"}}')[1] == 1
    future = (utcnow() + timedelta(minutes=1)).isoformat()
    assert matching(f'{{"creationDate": {{"after": "{future}"}}}}')[1] == 0


def test_stale_jobs_and_purge(services: Services) -> None:
    s = seed(services)
    jobs, execution = services.store.jobs, services.store.execution
    job = jobs.create(s.tenant_id, "acme", s.job())
    claim = execution.claim_next("host:1:x")
    assert claim is not None
    assert execution.stale_jobs(utcnow() - timedelta(seconds=30)) == []
    stale = execution.stale_jobs(utcnow() + timedelta(seconds=1))
    assert [j.id for j in stale] == [job.id]
    assert execution.take_over(stale[0], "reaper")
    assert not execution.take_over(stale[0], "another-reaper")
    jobs.transition(job.id, [JobStatus.STARTING], JobStatus.FAILED, message="lost")
    assert execution.purge_final(utcnow() - timedelta(days=1)) == 0
    assert execution.purge_final(utcnow() + timedelta(seconds=1)) == 1
    with pytest.raises(NotFound):
        jobs.get(s.tenant_id, job.id)


def test_concurrent_event_writers_of_one_job_never_share_a_number(services: Services) -> None:
    """The worker's batches and the status writer's events at the same moment: the
    numbers are 1..n, each once, and each writer's own events keep their order."""
    s = seed(services)
    job = services.store.jobs.create(s.tenant_id, "acme", s.job())
    store = services.store
    start = threading.Barrier(5)

    def batches(writer: int) -> None:
        start.wait()
        for n in range(20):
            data = {"index": writer, "stream": "stdout", "text": f"{n}"}
            store.events.append(job.id, [(EventKind.OUTPUT, data), (EventKind.OUTPUT, data)])

    def moves() -> None:
        start.wait()
        path = [JobStatus.STARTING, JobStatus.RUNNING, JobStatus.STOPPING, JobStatus.STOPPED]
        for source, target in zip([JobStatus.SUBMITTED, *path], path, strict=False):
            assert store.jobs.transition(job.id, [source], target)

    threads = [threading.Thread(target=batches, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=moves))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = store.events.after(job.id, 0, limit=1000)
    assert [e.seq for e in events] == list(range(1, 4 * 40 + 4 + 2))
    for writer in range(4):
        texts = [e.payload["text"] for e in events if e.payload.get("index") == writer]
        assert texts == [str(n) for n in range(20) for _ in range(2)]
    statuses = [e.payload["status"] for e in events if e.kind is EventKind.STATUS]
    assert statuses == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]
    assert [e.kind for e in events].count(EventKind.END) == 1
