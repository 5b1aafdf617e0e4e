"""The job use cases: submit, run again, repair, stop, and load a job for a tenant.

The API's routes (`api/routes/jobs.py`), the console's pages (`console/submit.py`,
`console/reruns.py`, `console/jobs.py`) and `jobmanager doctor` (`cli/doctor_job.py`)
call these functions and nothing else to make, stop or find a job, so a job made from
the console is the job the API would make: a re-run names its origin (`rerunOf`), its
time limit is checked against the operator's, a repair's starting step is never copied
into a re-run. Each is a few lines over the repositories (which own every write and
check the tenant) and the domain's rules; the callers parse their input and shape their
answer. Domain errors go up as they are: the API maps them to HTTP (`api/errors.py`),
the console to a page (`console/routing.py`).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from jobmanager.domain.errors import Conflict
from jobmanager.domain.statuses import REPAIRABLE
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.usecases.jobs")
TIME_LIMIT = "maximumExecutionTimeInSeconds"  # the field a too long time limit names


class Submitter(Protocol):
    """Who makes a job: the tenant's id and name (the API's `Caller`, the doctor)."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def tenant(self) -> str: ...


class Dispatches(Protocol):
    """Where a stored job is sent to run (the service's dispatcher)."""

    def dispatch(self, job_id: str) -> None: ...


def load_job(store: Store, tenant_id: str, job_id: str) -> JobRecord:
    """The tenant's job; another tenant's answers NotFound (404), like an unknown one."""
    return store.jobs.get(tenant_id, job_id)


def submit(store: Store, dispatcher: Dispatches, caller: Submitter, spec: JobSpec) -> JobRecord:
    """Store the job (its references checked for the tenant) and dispatch it. A dispatch
    that fails is logged: the job is stored SUBMITTED and the sweep dispatches it again."""
    job = store.jobs.create(caller.tenant_id, caller.tenant, spec)
    try:
        dispatcher.dispatch(job.id)
    except Exception:
        log.exception("job %s is stored but dispatching it failed; the sweep will", job.id)
        store.sends.unsent([job.id])
    return job


def rerun(
    store: Store,
    dispatcher: Dispatches,
    caller: Submitter,
    origin: JobRecord,
    limits: TimeLimits,
    *,
    parameters: dict[str, Any] | None = None,
    seconds: int | None = None,
) -> JobRecord:
    """Run `origin` again: its model version, configuration and folders, its parameters
    and time limit unless given (the time limit within the operator's maximum)."""
    return submit(store, dispatcher, caller, rerun_spec(origin, limits, parameters, seconds))


def repair(store: Store, dispatcher: Dispatches, caller: Submitter, origin: JobRecord) -> JobRecord:
    """Run a FAILED or STOPPED job's executed note again from its first failed step."""
    return submit(store, dispatcher, caller, repair_spec(origin))


def stop(store: Store, job: JobRecord) -> JobRecord:
    """Ask a job to stop: a waiting one is STOPPED at once, a live one STOPPING."""
    return store.jobs.request_stop(job.tenant_id, job.id)


def recorded(job: JobRecord) -> dict[str, Any]:
    """The job's provenance, or 409 when it has none (it never got as far as its run)."""
    if not job.provenance:
        raise Conflict(
            f"job {job.id} has no provenance: it ended before its model and input were staged"
        )
    return job.provenance


def rerun_spec(
    origin: JobRecord,
    limits: TimeLimits,
    parameters: dict[str, Any] | None = None,
    seconds: int | None = None,
) -> JobSpec:
    """A re-run of `origin` (409 without provenance); its `rerunOf` names `origin`."""
    provenance = recorded(origin)
    chosen = provenance.get("parameters", {}) if parameters is None else parameters
    return _like(
        origin,
        max_execution_seconds=limits.seconds(seconds or origin.max_execution_seconds, TIME_LIMIT),
        parameters=dict(chosen),
        rerun_of=origin.id,
    )


def repair_spec(origin: JobRecord) -> JobSpec:
    """A repair of a FAILED or STOPPED job: from its first failed paragraph or cell (409
    when it is not final-failed, or never ran a step)."""
    if origin.status not in REPAIRABLE:
        raise Conflict(
            f"job {origin.id} is {origin.status.value}: only a FAILED or STOPPED job is repaired"
        )
    provenance = recorded(origin)
    failed = provenance.get("failedStep")
    if not failed:
        raise Conflict(f"job {origin.id} has no failed paragraph or cell to repair from")
    return _like(
        origin,
        max_execution_seconds=origin.max_execution_seconds,
        parameters=dict(provenance.get("parameters", {})),
        repair_of=origin.id,
        repair_from=int(failed),
    )


def _like(origin: JobRecord, *, repair_from: int = 0, **fields: Any) -> JobSpec:
    """A job like `origin`, on the model version it ran; a repair's starting step only
    when this job is a repair (never copied from `origin`)."""
    options = {name: value for name, value in origin.options.items() if name != "repairFrom"}
    if repair_from:
        options["repairFrom"] = repair_from
    return JobSpec(
        model_id=origin.model_id,
        configuration_id=origin.configuration_id,
        input_folder_id=origin.input_folder_id,
        output_folder_id=origin.output_folder_id,
        model_version_id=str(recorded(origin)["modelVersionId"]),
        options=options,
        **fields,
    )
