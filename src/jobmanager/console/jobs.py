"""The jobs pages: the list (filters, paging by job, live rows), a job (timeline,
progress, live output, message chain, what it ran on and where, its resource use and
provenance, parameters, outputs) and Stop. Run again and Repair: `console/reruns.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from jobmanager.api.deps import StoreDep
from jobmanager.api.event_stream import MEDIA_TYPE, EventStream
from jobmanager.console.forms import reference_names
from jobmanager.console.live import HtmlEvents
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page
from jobmanager.console.views import STOPPABLE, message_chain, timeline
from jobmanager.domain.errors import NotFound
from jobmanager.domain.events import EventKind
from jobmanager.domain.filter_fields import JOB_FILTER_FIELDS
from jobmanager.domain.filters import NO_FILTER, Compare, FieldCondition, Filter
from jobmanager.domain.statuses import FINAL, REPAIRABLE, JobStatus
from jobmanager.store.jobs import JobRecord
from jobmanager.store.models import ModelFilter, VersionRecord
from jobmanager.store.store import Store
from jobmanager.usecases import jobs as job_cases

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
PAGE_SIZE = 50
# How many jobs a filtered page looks through at most (a rare match stays cheap).
SCAN = 10_000
# How many models (schedules) the filters and the submit form offer: the first hundred.
MODELS_LISTED = 100


@dataclass(frozen=True)
class JobQuery:
    """What the jobs list shows: its filters and where it is in the list."""

    status: str = ""
    model: str = ""
    schedule: str = ""
    text: str = ""
    older_than: str = ""
    newer_than: str = ""

    def filter(self) -> Filter:
        """The API's filter over the same fields (`JOB_FILTER_FIELDS`)."""
        chosen = {
            "status": Compare("eq", self.status) if self.status in JobStatus.__members__ else None,
            "modelId": Compare("eq", self.model) if self.model else None,
            "scheduleId": Compare("eq", self.schedule) if self.schedule else None,
            "message": Compare("contains", self.text) if self.text else None,
        }
        fields = tuple(
            FieldCondition(name, JOB_FILTER_FIELDS[name].kind, compare)
            for name, compare in chosen.items()
            if compare is not None
        )
        return Filter(fields) if fields else NO_FILTER

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.model or self.schedule or self.text)

    def url(self, path: str = "/jobs", **position: str) -> str:
        """The list's URL (or its rows', `/jobs/rows`) with these filters at a position."""
        chosen = {
            "status": self.status,
            "model": self.model,
            "schedule": self.schedule,
            "q": self.text,
            **position,
        }
        return f"{path}?" + urlencode({k: v for k, v in chosen.items() if v})


def job_query(
    status: str = "",
    model: str = "",
    schedule: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    older_than: Annotated[str, Query(max_length=64)] = "",
    newer_than: Annotated[str, Query(max_length=64)] = "",
) -> JobQuery:
    return JobQuery(status, model, schedule, q.strip(), older_than, newer_than)


JobQueryDep = Annotated[JobQuery, Depends(job_query)]


@dataclass(frozen=True)
class JobWindow:
    """One page of the list, and the jobs its Newer and Older links start from (None: no
    link). `searched` says a filter's search stopped after SCAN jobs: Older goes on."""

    jobs: list[JobRecord]
    newer: str | None
    older: str | None
    searched: bool = False

    @property
    def live(self) -> bool:
        return any(job.status not in FINAL for job in self.jobs)


def job_window(store: Store, tenant_id: str, query: JobQuery) -> JobWindow:
    """A page fetched next to a job (`older_than`/`newer_than`): one row more than a
    page says whether the list goes on; a filter searches SCAN jobs at most."""
    towards_newer = bool(query.newer_than) and not query.older_than
    jobs, scanned_to = store.jobs.list_next_to(
        tenant_id,
        limit=PAGE_SIZE + 1,
        flt=query.filter(),
        older_than=query.older_than or None,
        newer_than=query.newer_than if towards_newer else None,
        scan=SCAN,
    )
    more = len(jobs) > PAGE_SIZE
    if towards_newer:
        shown = jobs[-PAGE_SIZE:]
        newer = shown[0].id if more else scanned_to
        return JobWindow(shown, newer, shown[-1].id if shown else query.newer_than)
    shown = jobs[:PAGE_SIZE]
    older = shown[-1].id if more else scanned_to
    newer = (shown[0].id if shown else query.older_than) if query.older_than else None
    return JobWindow(shown, newer, older, searched=not more and scanned_to is not None)


def model_names(store: Store, tenant_id: str) -> dict[str, str]:
    models, _ = store.models.list_page(
        tenant_id, offset=0, limit=MODELS_LISTED, flt=ModelFilter(), descending=False
    )
    return {model.id: model.name for model in models}


def schedule_names(store: Store, tenant_id: str) -> dict[str, str]:
    """The schedule filter's choices: the newest hundred schedules, by name."""
    schedules, _ = store.schedules.list_page(tenant_id, offset=0, limit=MODELS_LISTED)
    return {schedule.id: schedule.name or schedule.id for schedule in schedules}


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    """The console starts at the jobs (which asks to sign in first)."""
    return RedirectResponse("/jobs", status_code=303)


@router.get("/favicon.ico")
def favicon() -> Response:
    """The icon, for what names none (the API's JSON, its docs): the pages' own."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, caller: ConsoleCaller, store: StoreDep, query: JobQueryDep
) -> Response:
    return page(
        request,
        "jobs.html",
        caller=caller,
        active="/jobs",
        query=query,
        window=job_window(store, caller.tenant_id, query),
        scan=SCAN,
        models=model_names(store, caller.tenant_id),
        schedules=schedule_names(store, caller.tenant_id),
        statuses=[status.value for status in JobStatus],
    )


@router.get("/jobs/rows", response_class=HTMLResponse)
def jobs_rows(
    request: Request, caller: ConsoleCaller, store: StoreDep, query: JobQueryDep
) -> Response:
    """The list's rows again: the page polls them while it may change."""
    return page(
        request,
        "jobs_rows.html",
        query=query,
        window=job_window(store, caller.tenant_id, query),
        scan=SCAN,
        models=model_names(store, caller.tenant_id),
    )


def load_job(job_id: str, caller: ConsoleCaller, store: StoreDep) -> JobRecord:
    """The caller's job; another tenant's is not found, like an unknown one."""
    return job_cases.load_job(store, caller.tenant_id, job_id)


JobDep = Annotated[JobRecord, Depends(load_job)]


def job_context(store: Store, job: JobRecord) -> dict[str, Any]:
    """What the job's summary and record show: its timeline, message chain, whether it
    stops, its version, provenance and whether it can be repaired."""
    status_events = store.events.of_kinds(job.id, [EventKind.STATUS])
    provenance = job.provenance or {}
    version = version_of(store, job)
    return {
        "job": job,
        "phases": timeline(job.creation_date, status_events),
        "chain": message_chain(job.message),
        "stoppable": job.status in STOPPABLE,
        "version": version,
        "unit": "cell" if version and version.payload_kind == "jupyter" else "paragraph",
        "provenance": provenance,
        "repairable": job.status in REPAIRABLE and bool(provenance.get("failedStep")),
    }


def version_of(store: Store, job: JobRecord) -> VersionRecord | None:
    """The model version the job runs (None once it is deleted)."""
    try:
        return store.models.get_version(job.tenant_id, job.model_id, job.model_version_id)
    except NotFound:
        return None


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, caller: ConsoleCaller, store: StoreDep, job: JobDep) -> Response:
    return page(
        request,
        "job.html",
        caller=caller,
        active="/jobs",
        names=reference_names(store, caller.tenant_id, job),
        live=job.status not in FINAL,
        **job_context(store, job),
    )


@router.get("/jobs/{job_id}/record", response_class=HTMLResponse)
def job_record(request: Request, store: StoreDep, job: JobDep) -> Response:
    """The job's parameters, resource use and provenance again (the page asks as the job
    moves on)."""
    return page(request, "job_record.html", **job_context(store, job))


@router.get("/jobs/{job_id}/summary", response_class=HTMLResponse)
def job_summary(request: Request, store: StoreDep, job: JobDep) -> Response:
    return page(request, "job_summary.html", **job_context(store, job))


@router.get("/jobs/{job_id}/live")
def job_live(
    request: Request,
    store: StoreDep,
    job: JobDep,
    last_event_id: Annotated[int, Header(alias="Last-Event-ID", ge=0)] = 0,
) -> StreamingResponse:
    """The job's events as HTML fragments for htmx's SSE extension (`console/live.py`),
    from the same stream as the API's `/jobs/{id}/events`."""
    hub = request.app.state.event_streams
    stream = EventStream(
        store, job.id, last_event_id, True, request.is_disconnected, hub, HtmlEvents()
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream.messages(), media_type=MEDIA_TYPE, headers=headers)


@router.post("/jobs/{job_id}/stop", dependencies=XSRF_CHECKED, response_class=HTMLResponse)
def stop_job(request: Request, store: StoreDep, job: JobDep) -> Response:
    stopped = job_cases.stop(store, job)
    return page(request, "job_summary.html", **job_context(store, stopped))
