"""`/api/jobmanager/v3/jobs`: start, read, list and stop jobs."""

from __future__ import annotations

from typing import Any

from jobmanager.client.call import Call, parse_as, parse_page
from jobmanager.client.calls import (
    DEFAULT_PAGE_SIZE,
    FilterArgument,
    filter_text,
    given,
    page_params,
    segment,
)
from jobmanager.client.types import Job, ListPage

BASE = "/api/jobmanager/v3"


def submit_job(
    model_id: str,
    configuration_id: str,
    input_folder_id: str,
    output_folder_id: str,
    *,
    maximum_execution_time: int | None = None,
    parameters: dict[str, Any] | None = None,
    model_version_id: str | None = None,
    idempotency_token: str | None = None,
) -> Call[Job]:
    """Start a job; it answers at once with status `SUBMITTED`.

    `maximum_execution_time` is in seconds (the server's default when None)."""
    body = given(
        modelId=model_id,
        configurationId=configuration_id,
        inputFolderId=input_folder_id,
        outputFolderId=output_folder_id,
        maximumExecutionTimeInSeconds=(
            str(maximum_execution_time) if maximum_execution_time is not None else None
        ),
        parameters=parameters,
        modelVersionId=model_version_id,
        idempotencyToken=idempotency_token,
    )
    return Call("POST", f"{BASE}/jobs", parse_as(Job), json=body)


def get_job(job_id: str) -> Call[Job]:
    """One job."""
    return Call("GET", f"{BASE}/jobs/{segment(job_id)}", parse_as(Job))


def list_jobs(
    filter: FilterArgument = None,
    *,
    page_number: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Call[ListPage[Job]]:
    """One page of jobs, newest first. `filter` is the API's filter over `modelId`,
    `message`, `status`, `creationDate`, e.g. `{"status": {"or": [{"eq": "FAILED"}]}}`."""
    params = page_params(page_number, page_size, filter=filter_text(filter))
    return Call("GET", f"{BASE}/jobs", parse_page(Job, "jobs"), params=params)


def stop_job(job_id: str) -> Call[Job]:
    """Ask a job to stop; answers the job (`STOPPING`, or already final)."""
    return Call("POST", f"{BASE}/jobs/{segment(job_id)}/stop", parse_as(Job))
