"""The doctor's last check: a trivial job, run end to end through the configured dispatcher.

It belongs to a tenant of its own (`jobmanager-doctor`, made on first use): a model
that writes one file, a configuration, an output folder, all made through the
repositories like any caller's and deleted once the job has ended; the job itself stays,
like any final job, until the retention period purges it. With local dispatch the job
runs in this process, on this host's sandbox; with Celery it goes through the broker to
whichever `jobmanager worker` takes it.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jobmanager.cli.doctor_findings import CheckFailed, Findings
from jobmanager.domain.errors import DomainError
from jobmanager.domain.statuses import JobStatus
from jobmanager.store.configurations import ConfigurationSpec
from jobmanager.store.dataexchange import PUBLIC_ROOT_ID
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import JobRecord
from jobmanager.store.models import ModelSpec, Payload, VersionSpec
from jobmanager.usecases import jobs
from jobmanager.usecases.jobs import Dispatches

if TYPE_CHECKING:
    from jobmanager.store.store import Store

TENANT = "jobmanager-doctor"
OUTPUT = "doctor.txt"
WRITTEN = "the doctor's job ran"


def doctor_note() -> bytes:
    """A Zeppelin note with one paragraph that writes `OUTPUT`."""
    text = f"%python\nopen(outputFolder + '/{OUTPUT}', 'w').write({WRITTEN!r})"
    paragraph = {"id": "doctor", "text": text, "status": "READY", "config": {}, "settings": {}}
    note: dict[str, Any] = {"paragraphs": [paragraph], "name": "doctor", "id": "2DOCTOR"}
    note |= {"defaultInterpreterGroup": "python", "config": {}, "info": {}}
    return json.dumps(note).encode()


class DoctorJob:
    """The job's resources in the doctor's tenant, made and removed with the repositories;
    the job submitted and stopped by the use cases every caller's job goes through."""

    tenant = TENANT

    def __init__(self, store: Store, max_seconds: int) -> None:
        self.store = store
        self.job_id: str | None = None
        try:
            self.tenant_id = store.tenants.get_by_name(TENANT).id
        except DomainError:
            self.tenant_id = store.tenants.create(TENANT).id
        name = f"doctor-{uuid.uuid4().hex[:12]}"
        key = store.blobs.new_key()
        size = store.blobs.write(key, [doctor_note()])
        payload = Payload(key, size, "doctor.zpln", "application/json")
        model = ModelSpec(name=name, type="zeppelin")
        self.model_id = store.models.create(self.tenant_id, model, VersionSpec({}), payload).id
        spec = ConfigurationSpec(name=name)
        self.configuration_id = store.configurations.create(self.tenant_id, spec).id
        root = PUBLIC_ROOT_ID
        self.output_id = store.dataexchange.create_directory(self.tenant_id, root, name).id
        self.spec = JobSpec(self.model_id, self.configuration_id, root, self.output_id, max_seconds)

    def submit(self, dispatcher: Dispatches) -> str:
        self.job_id = jobs.submit(self.store, dispatcher, self, self.spec).id
        return self.job_id

    def wait(self, job_id: str, timeout: float) -> JobRecord:
        deadline = time.monotonic() + timeout
        while True:
            job = jobs.load_job(self.store, self.tenant_id, job_id)
            if job.is_final or time.monotonic() > deadline:
                return job
            time.sleep(0.2)

    def output(self) -> bytes | None:
        for path, record in self.store.dataexchange.list_tree(self.tenant_id, self.output_id):
            if path == OUTPUT:
                _, handle = self.store.dataexchange.open_file(self.tenant_id, record.id)
                with handle:
                    return handle.read()
        return None

    def remove(self) -> None:
        """Stop the job if it still waits or runs, then delete what was made for it (a job
        that has not stopped yet keeps its model and configuration: they stay)."""
        tenant = self.tenant_id
        if self.job_id is not None:
            with contextlib.suppress(DomainError):
                jobs.stop(self.store, jobs.load_job(self.store, tenant, self.job_id))
        with contextlib.suppress(DomainError):
            self.store.dataexchange.delete_directory(tenant, self.output_id, recursive=True)
        with contextlib.suppress(DomainError):
            self.store.models.delete(tenant, self.model_id)
        with contextlib.suppress(DomainError):
            self.store.configurations.delete(tenant, self.configuration_id)


def check_job(findings: Findings, timeout: int) -> str:
    from jobmanager.store.store import Store

    assert findings.database is not None
    assert findings.blobs is not None
    store = Store(findings.database, findings.blobs)
    job = DoctorJob(store, max_seconds=timeout)
    try:
        began = time.monotonic()
        with dispatcher_of(findings, store) as dispatcher:
            job_id = job.submit(dispatcher)
        final = job.wait(job_id, timeout - (time.monotonic() - began))
        verdict(final, job, timeout, findings.settings.dispatch)
        return f"job {final.id} ran and saved its output in {time.monotonic() - began:.1f} s"
    finally:
        job.remove()


@contextlib.contextmanager
def dispatcher_of(findings: Findings, store: Store) -> Iterator[Dispatches]:
    """Local dispatch: a worker here that runs the job at once. Celery: the workers."""
    settings = findings.settings
    if settings.dispatch == "celery":
        from jobmanager.dispatch.celery import CeleryDispatcher, celery_app

        yield CeleryDispatcher(celery_app(settings))
        return
    from jobmanager.dispatch.inline import InlineDispatcher
    from jobmanager.jobrun.environment_pool import EnvironmentPool
    from jobmanager.jobrun.worker import Worker

    assert findings.isolation is not None
    pool = EnvironmentPool(capacity=0)
    worker = Worker(store, settings, pool, findings.isolation)
    worker.start()
    try:
        yield InlineDispatcher(worker)
    finally:
        worker.stop()
        pool.close()


def verdict(final: JobRecord, job: DoctorJob, timeout: int, dispatch: str) -> None:
    """Raise CheckFailed saying what went wrong, unless the job did all it should."""
    if final.status == JobStatus.SUBMITTED and dispatch == "celery":
        raise CheckFailed(
            f"no worker took job {final.id} within {timeout} s: is a `jobmanager worker` "
            "running with this database, broker and object store (same JOBMANAGER_* settings)?"
        )
    if not final.is_final:
        raise CheckFailed(
            f"job {final.id} is still {final.status.value} after {timeout} s "
            f"({final.message or 'no message'}); try a longer --timeout"
        )
    if final.status != JobStatus.SUCCEEDED:
        raise CheckFailed(f"job {final.id} ended {final.status.value}: {final.message}")
    if job.output() != WRITTEN.encode():
        raise CheckFailed(
            f"job {final.id} succeeded but its output file {OUTPUT} is missing or wrong "
            "in the object store: do the workers use the same JOBMANAGER_BLOB_URL?"
        )
