"""Fair queues on SQLite and PostgreSQL: one tenant's thousand waiting jobs hold back
another tenant's next job by at most one slot; caps on a tenant's live jobs; a waiting
job's place in its queue and why it waits."""

from __future__ import annotations

from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.store.execution import ExecutionRepository
from tests.integration.jobs.seed import Seed, seed

FLOOD = 1000


def flood(services: Services, s: Seed, count: int = FLOOD) -> None:
    """`count` waiting jobs of the seeded tenant, inserted in one transaction."""
    with services.db.transaction() as session:
        for _ in range(count):
            services.store.jobs.insert(session, s.tenant_id, "flood", s.job())


def test_a_thousand_waiting_jobs_hold_another_tenant_back_by_one_slot_at_most(
    services: Services,
) -> None:
    busy, other = seed(services, "busy", max_environments=FLOOD), seed(services, "other")
    flood(services, busy)
    late = services.store.jobs.create(other.tenant_id, "other", other.job())
    claimed = [services.store.execution.claim_next(f"w{n}") for n in range(2)]
    assert late.id in [c.job.id for c in claimed if c is not None]
    # With the busy tenant running a job and the other none, the other's next job is
    # the very next one.
    done = next(c for c in claimed if c is not None and c.job.id == late.id)
    services.store.execution.release_environment(done.environment_id)
    services.store.jobs.transition(late.id, [JobStatus.STARTING], JobStatus.FAILED)
    again = services.store.jobs.create(other.tenant_id, "other", other.job())
    claim = services.store.execution.claim_next("w3")
    assert claim is not None and claim.job.id == again.id


def test_a_full_configurations_thousand_jobs_do_not_block_another_tenant(
    services: Services,
) -> None:
    busy, other = seed(services, "busy", max_environments=1), seed(services, "other")
    flood(services, busy)
    assert services.store.execution.claim_next("w1") is not None  # its one slot taken
    late = services.store.jobs.create(other.tenant_id, "other", other.job())
    claim = services.store.execution.claim_next("w2")
    assert claim is not None and claim.job.id == late.id


def test_a_tenant_at_its_cap_waits_saying_so_and_others_go_first(services: Services) -> None:
    capped, other = seed(services, "capped", max_environments=5), seed(services, "other")
    services.store.tenants.set_cap("capped", 1)
    jobs = services.store.jobs
    first, second = (jobs.create(capped.tenant_id, "c", capped.job()) for _ in range(2))
    late = jobs.create(other.tenant_id, "o", other.job())
    execution = services.store.execution
    assert [c.job.id for c in (execution.claim_next("w1"), execution.claim_next("w2")) if c] == [
        first.id,
        late.id,
    ]
    assert execution.claim_next("w3") is None
    waiting = jobs.get(capped.tenant_id, second.id)
    assert waiting.message == "Waiting: the tenant's 1 live jobs are its limit."
    assert waiting.queue_position == 1
    services.store.tenants.set_cap("capped", None)  # back to the default: no cap
    claim = execution.claim_next("w3")
    assert claim is not None and claim.job.id == second.id


def test_the_services_default_cap_holds_for_tenants_without_their_own(
    services: Services,
) -> None:
    s = seed(services, max_environments=5)
    for _ in range(3):
        services.store.jobs.create(s.tenant_id, "acme", s.job())
    execution = ExecutionRepository(services.db, services.store.blobs, tenant_max_live_jobs=2)
    assert execution.claim_next("w1") is not None
    assert execution.claim_next("w2") is not None
    assert execution.claim_next("w3") is None
    services.store.tenants.set_cap("acme", 3)  # a tenant's own cap wins over the default
    assert execution.claim_next("w3") is not None


def test_a_waiting_job_shows_its_place_in_its_queue_and_why(services: Services) -> None:
    s = seed(services, max_environments=1)
    jobs = services.store.jobs
    made = [jobs.create(s.tenant_id, "acme", s.job()) for _ in range(3)]
    places = [jobs.get(s.tenant_id, job.id) for job in made]
    assert [job.queue_position for job in places] == [1, 2, 3]
    assert places[0].message == ""
    assert (
        places[2].message == "Waiting in the queue of its configuration: 2 earlier jobs go first."
    )
    assert services.store.execution.claim_next("w1") is not None
    assert services.store.execution.claim_next("w2") is None  # the configuration is full
    now = [jobs.get(s.tenant_id, job.id) for job in made]
    assert now[0].queue_position is None  # it runs
    assert [job.queue_position for job in now[1:]] == [1, 2]
    assert (
        now[1].message == "Waiting for an environment: all 1 of configuration 'default' are in use."
    )
    page, _ = jobs.list_page(s.tenant_id, offset=0, limit=10)
    assert {job.queue_position for job in page} == {None}  # a single job's read only
