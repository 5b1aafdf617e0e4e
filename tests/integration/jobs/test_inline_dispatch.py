"""The inline dispatcher runs a job to its end inside `dispatch`: what tests can rely on."""

from __future__ import annotations

from jobmanager.dispatch.inline import InlineDispatcher
from jobmanager.domain.statuses import JobStatus
from jobmanager.jobrun.environment_pool import EnvironmentPool, open_isolation
from jobmanager.jobrun.worker import Worker
from jobmanager.startup.services import Services
from tests.integration.jobs.api import zeppelin_note
from tests.integration.jobs.seed import seed


def test_dispatch_returns_with_the_job_final_and_its_outputs_saved(services: Services) -> None:
    s = seed(services)
    note = zeppelin_note("%python\nopen(outputFolder + '/x.txt', 'w').write('inline')")
    services.store.blobs.write("0" * 32, [note])  # the payload the seeded version names
    pool = EnvironmentPool(capacity=0)
    dispatcher = InlineDispatcher(
        Worker(services.store, services.settings, pool, open_isolation(services.settings))
    )
    job = services.store.jobs.create(s.tenant_id, "acme", s.job())

    dispatcher.dispatch(job.id)

    done = services.store.jobs.get(s.tenant_id, job.id)
    assert done.status is JobStatus.SUCCEEDED, done.message
    outputs = dict(services.store.dataexchange.list_tree(s.tenant_id, s.output_id))
    assert set(outputs) == {"x.txt", "note_2TESTNOTE.zpln"}
    assert services.store.execution.environments() == []
    dispatcher.dispatch(job.id)  # a second delivery finds the job claimed and drops it
    assert services.store.jobs.get(s.tenant_id, job.id).end_date == done.end_date
