"""`/api/jobmanager/v3/jobs`: start, read, list and stop jobs (SPEC §1)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from jobmanager.api.deps import CallerDep, DispatcherDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.filtering import FilterQuery
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.jobs import JobCreate, JobListPublic, JobPublic
from jobmanager.domain.filters import DATETIME, STRING, Filter, enum_field
from jobmanager.domain.statuses import JobStatus
from jobmanager.store.jobs import JobRecord

log = logging.getLogger("jobmanager.api.jobs")
router = APIRouter(prefix="/api/jobmanager/v3/jobs", tags=["jobs"])

JOB_FILTER_FIELDS = {
    "modelId": STRING,
    "message": STRING,
    "status": enum_field(JobStatus),
    "creationDate": DATETIME,
}
JobFilterDep = Annotated[Filter, Depends(FilterQuery("Job", JOB_FILTER_FIELDS))]


def load_job(job_id: str, caller: CallerDep, store: StoreDep) -> JobRecord:
    """The caller's job, or 404 — for another tenant's job too."""
    return store.jobs.get(caller.tenant_id, job_id)


JobDep = Annotated[JobRecord, Depends(load_job)]


@router.post("", status_code=201, response_model=JobPublic)
def create_job(
    body: JobCreate,
    caller: CallerDep,
    store: StoreDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> JobPublic:
    job = store.jobs.create(caller.tenant_id, caller.tenant, body.to_spec(settings.time_limits))
    try:
        dispatcher.dispatch(job.id)
    except Exception:  # the job is stored SUBMITTED: the sweep dispatches it again
        log.exception("job %s is stored but dispatching it failed; the sweep will", job.id)
    return JobPublic.of(job)


@router.get("", response_model=JobListPublic)
def list_jobs(
    caller: CallerDep, store: StoreDep, page: PageDep, flt: JobFilterDep
) -> dict[str, Any]:
    records, total = store.jobs.list_page(
        caller.tenant_id, offset=page.offset, limit=page.size, flt=flt
    )
    return envelope("jobs", [JobPublic.of(record) for record in records], page, total)


@router.get("/{job_id}", response_model=JobPublic, responses=error_responses(404))
def get_job(job: JobDep) -> JobPublic:
    return JobPublic.of(job)


@router.post("/{job_id}/stop", response_model=JobPublic, responses=error_responses(404))
def stop_job(job: JobDep, store: StoreDep) -> JobPublic:
    return JobPublic.of(store.jobs.request_stop(job.tenant_id, job.id))
