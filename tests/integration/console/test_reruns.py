"""The console's Run again and Repair make the job the API's `/rerun` and `/repair` make
(`usecases/jobs.py`, one home): the re-run names its origin, a time limit over the
operator's maximum is refused in the API's words, a repair's starting step is not
copied into a re-run of the repair."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.jobs import JobRecord
from tests.conftest import TenantClient
from tests.integration.console.conftest import sign_in
from tests.integration.console.test_pages import made_job, make_jobs
from tests.integration.jobs.api import JOBS, runnable_references

MAXIMUM = 600


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_execution_seconds": MAXIMUM})


def failed_with_provenance(services: Services, job: JobRecord, failed_step: int) -> JobRecord:
    """The job as if it ran and failed at `failed_step` (its provenance recorded)."""
    services.store.jobs.record_provenance(
        job.id,
        modelVersionId=job.model_version_id,
        parameters=job.parameters,
        failedStep=failed_step,
    )
    services.store.jobs.transition(job.id, [JobStatus.SUBMITTED], JobStatus.FAILED)
    return services.store.jobs.get(job.tenant_id, job.id)


def test_a_console_rerun_is_the_apis(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    (job,) = make_jobs(services, tenant, refs, 1)
    job = failed_with_provenance(services, job, 1)
    token = sign_in(idle_client, tenant)

    answer = idle_client.post(f"/jobs/{job.id}/rerun", data={"xsrf_token": token})
    assert answer.status_code == 303, answer.text
    by_console = made_job(services, job, answer.headers["location"])
    by_api = idle_client.post(f"{JOBS}/{job.id}/rerun", headers=tenant.headers)
    assert by_api.status_code == 201, by_api.text
    api_job = services.store.jobs.get(job.tenant_id, by_api.json()["id"])

    def made(record: JobRecord) -> tuple[object, ...]:
        return (
            record.rerun_of,
            record.repair_of,
            record.model_version_id,
            record.configuration_id,
            record.input_folder_id,
            record.output_folder_id,
            record.parameters,
            record.options,
            record.max_execution_seconds,
            record.status,
        )

    assert made(by_console) == made(api_job)
    assert by_console.rerun_of == job.id
    listed = idle_client.get(
        JOBS, params={"filter": f'{{"rerunOf": "{job.id}"}}'}, headers=tenant.headers
    )
    assert {entry["id"] for entry in listed.json()["jobs"]} == {by_console.id, api_job.id}


def test_a_console_rerun_over_the_time_limit_is_refused_in_the_apis_words(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    (job,) = make_jobs(services, tenant, refs, 1)
    job = failed_with_provenance(services, job, 1)
    too_long = str(MAXIMUM + 1)
    by_api = idle_client.post(
        f"{JOBS}/{job.id}/rerun",
        json={"maximumExecutionTimeInSeconds": too_long},
        headers=tenant.headers,
    )
    assert by_api.status_code == 400
    message = by_api.json()["errors"][0]["message"]
    assert message == f"maximumExecutionTimeInSeconds: at most {MAXIMUM}"

    token = sign_in(idle_client, tenant)
    before = services.store.jobs.list_page(job.tenant_id, offset=0, limit=10)[1]
    refused = idle_client.post(
        f"/jobs/{job.id}/rerun",
        data={"xsrf_token": token, "edited": "true", "time_limit": too_long},
    )
    assert refused.status_code == 400
    assert message in refused.text
    assert services.store.jobs.list_page(job.tenant_id, offset=0, limit=10)[1] == before


def test_a_rerun_of_a_repair_does_not_repair(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    (job,) = make_jobs(services, tenant, refs, 1)
    job = failed_with_provenance(services, job, 1)
    token = sign_in(idle_client, tenant)
    repaired = idle_client.post(f"/jobs/{job.id}/repair", data={"xsrf_token": token})
    assert repaired.status_code == 303, repaired.text
    repair = made_job(services, job, repaired.headers["location"])
    assert (repair.repair_of, repair.options.get("repairFrom")) == (job.id, 1)

    repair = failed_with_provenance(services, repair, 1)
    answer = idle_client.post(f"/jobs/{repair.id}/rerun", data={"xsrf_token": token})
    assert answer.status_code == 303, answer.text
    again = made_job(services, repair, answer.headers["location"])
    assert (again.rerun_of, again.repair_of) == (repair.id, None)
    assert "repairFrom" not in again.options
