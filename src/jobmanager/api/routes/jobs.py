"""`/api/jobmanager/v3/jobs`: start, read, list and stop jobs (SPEC §1)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.deps import Caller, CallerDep, DispatcherDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.event_stream import MEDIA_TYPE, EventStream
from jobmanager.api.filtering import FilterQuery
from jobmanager.api.paging import PageDep, envelope
from jobmanager.api.schemas.dataexchange import (
    FILE_BYTES,
    download_headers,
    download_media_type,
)
from jobmanager.api.schemas.events import event_schema
from jobmanager.api.schemas.jobs import (
    JobCreate,
    JobListPublic,
    JobOutputListPublic,
    JobOutputPublic,
    JobPublic,
)
from jobmanager.api.schemas.provenance import JobRerun, ProvenancePublic, repair_spec
from jobmanager.chunks import chunks_of
from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain.filters import DATETIME, STRING, Filter, enum_field
from jobmanager.domain.statuses import JobStatus
from jobmanager.store.jobs import JobRecord, JobSpec
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.api.jobs")
router = APIRouter(prefix="/api/jobmanager/v3/jobs", tags=["jobs"])

JOB_FILTER_FIELDS = {
    "modelId": STRING,
    "message": STRING,
    "status": enum_field(JobStatus),
    "creationDate": DATETIME,
    "rerunOf": STRING,
    "repairOf": STRING,
    "scheduleId": STRING,
}
JobFilterDep = Annotated[Filter, Depends(FilterQuery("Job", JOB_FILTER_FIELDS))]


def load_job(job_id: str, caller: CallerDep, store: StoreDep) -> JobRecord:
    """The caller's job, or 404 — for another tenant's job too."""
    return store.jobs.get(caller.tenant_id, job_id)


JobDep = Annotated[JobRecord, Depends(load_job)]


@router.post("", status_code=201, response_model=JobPublic, responses=error_responses(413, 507))
def create_job(
    body: JobCreate,
    caller: CallerDep,
    store: StoreDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
) -> JobPublic:
    return JobPublic.of(submit(caller, store, dispatcher, body.to_spec(settings.time_limits)))


def submit(caller: Caller, store: Store, dispatcher: Dispatcher, spec: JobSpec) -> JobRecord:
    """Store the job and dispatch it (the API's and the console's submit)."""
    job = store.jobs.create(caller.tenant_id, caller.tenant, spec)
    try:
        dispatcher.dispatch(job.id)
    except Exception:  # the job is stored SUBMITTED: the sweep dispatches it again
        log.exception("job %s is stored but dispatching it failed; the sweep will", job.id)
        store.sends.unsent([job.id])
    return job


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


@router.get(
    "/{job_id}/provenance",
    response_model=ProvenancePublic,
    summary="What a job ran on (extension)",
    description="The model version, every input file's checksum as staged, the "
    "parameters, the configuration as it was and the environment's exact package set "
    "(docs/provenance.md). 409 for a job that ended before it was staged.",
    responses=error_responses(404, 409),
    openapi_extra={"x-extension": True},
)
def job_provenance(job: JobDep) -> ProvenancePublic:
    return ProvenancePublic.of(job)


@router.get(
    "/{job_id}/outputs",
    response_model=JobOutputListPublic,
    summary="The files a job saved (extension)",
    description="Exactly the files this job wrote to its output folder, by path (a "
    "retried attempt's under `attempt-N/`, the executed notebook or note too), each with "
    "its size, SHA-256 and media type, even after a later job overwrote the same name "
    "in the folder; none until the job has saved some. Paged like every list.",
    responses=error_responses(404),
    openapi_extra={"x-extension": True},
)
def job_outputs(job: JobDep, store: StoreDep, page: PageDep) -> dict[str, Any]:
    records, total = store.outputs.list_outputs(
        job.tenant_id, job.id, offset=page.offset, limit=page.size
    )
    return envelope("outputs", [JobOutputPublic.of(record) for record in records], page, total)


@router.get(
    "/{job_id}/outputs/{path:path}",
    response_class=StreamingResponse,
    summary="Download a file a job saved (extension)",
    description="The bytes this job saved under `path` (as listed by "
    "`GET /jobs/{id}/outputs`), not those a later job wrote to the same name.",
    responses={200: FILE_BYTES, **error_responses(404)},
    openapi_extra={"x-extension": True},
)
def download_job_output(job: JobDep, store: StoreDep, path: str) -> StreamingResponse:
    output, handle = store.outputs.open(job.tenant_id, job.id, path)
    return StreamingResponse(
        chunks_of(handle),
        media_type=download_media_type(output.media_type),
        headers=download_headers(output.name, output.size),
    )


@router.post(
    "/{job_id}/rerun",
    status_code=201,
    response_model=JobPublic,
    summary="Run a job again (extension)",
    description="A new job from the job's provenance: the same model version, "
    "configuration, folders and parameters (unless given), on the input folder as it is "
    "now; the new job's message warns of input files whose checksum differs. The new "
    "job's `rerunOf` names this one. 409 for a job without provenance.",
    responses=error_responses(400, 404, 409, 413, 507),
    openapi_extra={"x-extension": True},
)
def rerun_job(
    job: JobDep,
    caller: CallerDep,
    store: StoreDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    body: JobRerun | None = None,
) -> JobPublic:
    spec = (body or JobRerun()).to_spec(job, settings.time_limits)
    return JobPublic.of(submit(caller, store, dispatcher, spec))


@router.post(
    "/{job_id}/repair",
    status_code=201,
    response_model=JobPublic,
    summary="Repair a failed or stopped job (extension)",
    description="A new job that runs the job's executed note from its first failed "
    "paragraph or cell: the ones before it run again only to restore the kernel's "
    "state, their earlier results kept; the new job's message says which were replayed "
    "and its `repairOf` names this one. 409 unless the job is FAILED or STOPPED with a "
    "failed or unfinished step.",
    responses=error_responses(400, 404, 409, 507),
    openapi_extra={"x-extension": True},
)
def repair_job(
    job: JobDep, caller: CallerDep, store: StoreDep, dispatcher: DispatcherDep
) -> JobPublic:
    return JobPublic.of(submit(caller, store, dispatcher, repair_spec(job)))


EVENTS_DOC = """**Extension** (not in Insights Hub): the job's live events as Server-Sent Events.

Each message has `id` (its sequence number, from 1 per job), `event` (its kind) and
`data` (one JSON object with `time`, plus by kind): `status` (`status`, `message`),
`started` (`unit` paragraph or cell, `index`, `total`, `title`), `finished` (`unit`,
`index`, `total`, `status` FINISHED/ERROR/ABORT, `summary`), `output` (`index`,
`stream` stdout/stderr/result, `text`), `truncated` (`index`, `scope`, `limitBytes`:
output beyond this cap is not stored) and `end` (`status`, `message`), which is last
(its `status` is `DELETED` for a job deleted while followed).

An ended job's events are replayed, then the stream ends; a live job's follow as they
come. Resume after an event with the `Last-Event-ID` header (what EventSource sends on
reconnect) or the `lastEventId` parameter: nothing is lost or repeated. With
`follow=false` the stream ends once what is stored is sent."""
EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The event stream; the schema is one event's",
        "content": {MEDIA_TYPE: {"schema": event_schema()}},
    },
    **error_responses(404),
}
MAX_SEQUENCE = 2**31 - 1
# A sequence number to resume after, or none (then the stream starts at the first
# event): the value is never null, so the document shows no null.
ResumePoint = Annotated[int, Field(ge=0, le=MAX_SEQUENCE)] | SkipJsonSchema[None]


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    summary="Follow a job's events (extension)",
    description=EVENTS_DOC,
    responses=EVENTS_RESPONSES,
    openapi_extra={"x-extension": True},
)
def job_events(
    job: JobDep,
    store: StoreDep,
    request: Request,
    from_header: Annotated[ResumePoint, Header(alias="Last-Event-ID")] = None,
    from_query: Annotated[ResumePoint, Query(alias="lastEventId")] = None,
    follow: bool = True,
) -> StreamingResponse:
    """The header wins: EventSource sends it on reconnect, with the first URL's query."""
    after = from_header if from_header is not None else from_query or 0
    streams = request.app.state.event_streams
    stream = EventStream(store, job.id, after, follow, request.is_disconnected, streams)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream.messages(), media_type=MEDIA_TYPE, headers=headers)
