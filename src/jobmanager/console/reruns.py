"""Run a job again, as it was or with changes, and repair a failed one: the API's re-run
and repair (docs/provenance.md) from the job page, through the same use cases
(`usecases/jobs.py`): a re-run has the job's model version, configuration and folders,
names it in `rerunOf` and keeps its time limit within the operator's.

Its form (`/jobs/{id}/rerun`) shows the job's parameters typed as that version names
them, so an edited value is read as its type; the one-click button on the job page sends
no parameters (the job's own, unchanged). A job that ended before it was staged has no
provenance: its page offers Submit prefilled instead.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from jobmanager.api.deps import DispatcherDep, SettingsDep, StoreDep
from jobmanager.api.schemas.provenance import JobRerun
from jobmanager.console.forms import api_body
from jobmanager.console.jobs import JobDep
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.console.submit import parameters_of, sent_parameters
from jobmanager.usecases import jobs
from jobmanager.usecases.jobs import recorded

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)


@router.get("/jobs/{job_id}/rerun", response_class=HTMLResponse)
def rerun_form(request: Request, caller: ConsoleCaller, store: StoreDep, job: JobDep) -> Response:
    provenance = recorded(job)  # 409 in words for a job that was never staged
    version_id = str(provenance["modelVersionId"])
    form = parameters_of(store, caller.tenant_id, job.model_id, version_id)
    return page(
        request,
        "rerun.html",
        caller=caller,
        active="/jobs",
        job=job,
        model=store.models.get(caller.tenant_id, job.model_id),
        version=store.models.get_version(caller.tenant_id, job.model_id, version_id),
        parameters=form.showing(provenance.get("parameters", job.parameters)),
    )


@router.post("/jobs/{job_id}/rerun", dependencies=XSRF_CHECKED)
async def run_again(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    job: JobDep,
    edited: Annotated[bool, Form()] = False,
    time_limit: Annotated[str, Form()] = "",
    extra_parameters: Annotated[str, Form()] = "",
) -> Response:
    """A re-run: from the job page's button, the job's parameters; from the form, its
    fields read as the version's types."""
    body = JobRerun()
    if edited:
        version_id = str(recorded(job)["modelVersionId"])
        form = parameters_of(store, caller.tenant_id, job.model_id, version_id)
        body = api_body(
            JobRerun,
            parameters=await sent_parameters(request, form, extra_parameters),
            maximumExecutionTimeInSeconds=time_limit.strip() or None,
        )
    again = jobs.rerun(
        store,
        dispatcher,
        caller,
        job,
        settings.time_limits,
        parameters=body.parameters,
        seconds=body.maximumExecutionTimeInSeconds,
    )
    return redirect(request, f"/jobs/{again.id}")


@router.post("/jobs/{job_id}/repair", dependencies=XSRF_CHECKED)
def repair(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    dispatcher: DispatcherDep,
    job: JobDep,
) -> Response:
    repaired = jobs.repair(store, dispatcher, caller, job)
    return redirect(request, f"/jobs/{repaired.id}")
