"""`/api/jobmanager/v3/jobs`: start, read, list and stop jobs (SPEC §1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.filtering import filter_query
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.jobs import JobCreate, JobListPublic, JobPublic
from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import DATETIME, STRING, Filter, enum_field
from jobmanager.domain.statuses import JobStatus
from jobmanager.store import jobs as job_store
from jobmanager.store.jobs import JobRecord

router = APIRouter(prefix="/api/jobmanager/v3/jobs", tags=["jobs"])

JOB_FILTER_FIELDS = {
    "modelId": STRING,
    "message": STRING,
    "status": enum_field(JobStatus),
    "creationDate": DATETIME,
}


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
JobFilterDep = Annotated[Filter, Depends(filter_query(JOB_FILTER_FIELDS))]


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
    seconds = body.maximumExecutionTimeInSeconds or settings.default_execution_seconds
    if seconds > settings.max_execution_seconds:
        raise InvalidInput(
            f"maximumExecutionTimeInSeconds: at most {settings.max_execution_seconds}"
        )
    request = job_store.JobCreate(
        model_id=body.modelId,
        configuration_id=body.configurationId,
        input_folder_id=body.inputFolderId,
        output_folder_id=body.outputFolderId,
        max_execution_seconds=seconds,
        model_version_id=body.modelVersionId,
        parameters=body.parameters,
        options={"stopOnError": body.stopOnError},
        idempotency_token=body.idempotencyToken,
    )
    job = store.jobs.create(caller.tenant_id, caller.tenant, request)
    dispatcher.dispatch(job.id)
    return JobPublic.of(job)


@router.get("", response_model=JobListPublic)
def list_jobs(
    caller: CallerDep, store: StoreDep, page: PageDep, flt: JobFilterDep
) -> dict[str, Any]:
    jobs, total = store.jobs.list(caller.tenant_id, flt, page.offset, page.size)
    return envelope("jobs", [JobPublic.of(job) for job in jobs], page, total)


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job: JobDep) -> JobPublic:
    return JobPublic.of(job)


@router.post("/{job_id}/stop", response_model=JobPublic)
def stop_job(job: JobDep, store: StoreDep) -> JobPublic:
    return JobPublic.of(store.jobs.request_stop(job.tenant_id, job.id))
