"""`/api/jobmanager/v3/jobs`: start, read, list and stop jobs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jobmanager.client.call import Call, ProgressCallback, Sink, parse_as, parse_page
from jobmanager.client.calls import (
    DEFAULT_PAGE_SIZE,
    FilterArgument,
    filter_text,
    given,
    page_params,
    segment,
)
from jobmanager.client.calls.models import Source
from jobmanager.client.types import Job, JobOutput, ListPage, Provenance

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
    retry: dict[str, Any] | None = None,
) -> Call[Job]:
    """Start a job; it answers at once with status `SUBMITTED`.

    `maximum_execution_time` is in seconds (the server's default when None). `retry` is
    the job's retry policy (an extension, docs/queues.md), e.g. `{"maxRetries": 2,
    "retryOn": ["failed"]}`; default: its configuration's."""
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
        retry=retry,
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


def get_job_provenance(job_id: str) -> Call[Provenance]:
    """What a job ran on (an extension): model version, input checksums, parameters,
    configuration as it was, the environment's package set."""
    return Call("GET", f"{BASE}/jobs/{segment(job_id)}/provenance", parse_as(Provenance))


def rerun_job(
    job_id: str,
    *,
    parameters: dict[str, Any] | None = None,
    maximum_execution_time: int | None = None,
) -> Call[Job]:
    """Run a job again from its provenance (an extension): same model version,
    configuration and folders; its parameters unless `parameters` replaces them."""
    body = given(
        parameters=parameters,
        maximumExecutionTimeInSeconds=(
            str(maximum_execution_time) if maximum_execution_time is not None else None
        ),
    )
    return Call("POST", f"{BASE}/jobs/{segment(job_id)}/rerun", parse_as(Job), json=body)


def repair_job(job_id: str) -> Call[Job]:
    """Re-run a FAILED or STOPPED job from its first failed paragraph or cell (an
    extension); the ones before it are replayed, their earlier results kept."""
    return Call("POST", f"{BASE}/jobs/{segment(job_id)}/repair", parse_as(Job))


def list_job_outputs(
    job_id: str, *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[JobOutput]]:
    """One page of the files a job saved, by path (an extension): exactly its own, even
    after a later job overwrote the same names in the output folder."""
    params = page_params(page_number, page_size)
    url = f"{BASE}/jobs/{segment(job_id)}/outputs"
    return Call("GET", url, parse_page(JobOutput, "outputs"), params=params)


def download_job_output(
    job_id: str, path: str, destination: Source, *, progress: ProgressCallback | None = None
) -> Call[int]:
    """Stream the bytes a job saved under `path` (as listed) into `destination` (a path
    or a binary file); the size."""
    if not path.strip("/"):
        raise ValueError("an output's path must not be empty")
    sink = Sink(destination, progress)
    url = f"{BASE}/jobs/{segment(job_id)}/outputs/{quote(path, safe='/')}"
    return Call("GET", url, lambda _r: sink.size, sink=sink)
