"""The console's pages over HTTP (no browser): sign-in, tenancy, XSRF, the jobs list and
its paging, a job's page and stream, stop, run again, repair and submit."""

from __future__ import annotations

import re

import nbformat
import pytest
from fastapi.testclient import TestClient

from jobmanager.console import jobs as console_jobs
from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import JobRecord
from tests.conftest import TenantClient, make_tenant
from tests.integration.console.conftest import sign_in
from tests.integration.jobs.api import runnable_references, upload_model


def make_jobs(
    services: Services, tenant: TenantClient, refs: dict[str, str], count: int
) -> list[JobRecord]:
    tenant_id = services.store.tenants.active_client(tenant.client_id)
    assert tenant_id is not None
    spec = JobSpec(
        model_id=refs["modelId"],
        configuration_id=refs["configurationId"],
        input_folder_id=refs["inputFolderId"],
        output_folder_id=refs["outputFolderId"],
        max_execution_seconds=60,
        parameters={"threshold": "70"},
    )
    return [services.store.jobs.create(tenant_id, tenant.name, spec) for _ in range(count)]


def listed(html: str) -> list[str]:
    return re.findall(r'data-job="([^"]+)"', html)


def test_pages_ask_to_sign_in(idle_client: TestClient) -> None:
    answer = idle_client.get("/jobs?status=FAILED")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/jobs%3Fstatus%3DFAILED"
    fragment = idle_client.get("/jobs/rows", headers={"HX-Request": "true"})
    assert fragment.status_code == 204
    assert fragment.headers["HX-Redirect"].startswith("/signin?next=")
    assert idle_client.get("/").headers["location"] == "/jobs"


def test_sign_in_refuses_a_wrong_secret_in_words(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    idle_client.get("/signin")
    answer = idle_client.post(
        "/signin",
        data={
            "client_id": tenant.client_id,
            "client_secret": "wrong",
            "xsrf_token": idle_client.cookies["XSRF-TOKEN"],
        },
    )
    assert answer.status_code == 401
    assert "do not match an active client" in answer.text
    assert "SESSION" not in idle_client.cookies


def test_sign_in_page_says_where_the_dev_credentials_are(idle_client: TestClient) -> None:
    assert "dev-credentials.json" in idle_client.get("/signin").text


def test_a_post_without_the_xsrf_token_is_refused_with_a_page(
    idle_client: TestClient, tenant: TenantClient
) -> None:
    sign_in(idle_client, tenant)
    answer = idle_client.post("/signout", data={})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "security token" in answer.text
    assert idle_client.get("/jobs").status_code == 200  # still signed in


def test_sign_out_forgets_the_session(idle_client: TestClient, tenant: TenantClient) -> None:
    token = sign_in(idle_client, tenant)
    answer = idle_client.post("/signout", data={"xsrf_token": token})
    assert answer.status_code == 303
    assert "SESSION" not in idle_client.cookies
    assert idle_client.get("/jobs").status_code == 303


def test_the_jobs_list_pages_by_job_newest_first_with_filters(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    jobs = make_jobs(services, tenant, refs, 120)
    newest_first = [job.id for job in reversed(jobs)]
    sign_in(idle_client, tenant)
    first = idle_client.get("/jobs").text
    assert listed(first) == newest_first[:50]
    older = re.search(r'href="(/jobs\?older_than=[^"]+)" rel="next"', first)
    assert older is not None
    second = idle_client.get(older.group(1).replace("&amp;", "&")).text
    assert listed(second) == newest_first[50:100]
    newer = re.search(r'href="(/jobs\?newer_than=[^"]+)" rel="prev"', second)
    assert newer is not None
    assert listed(idle_client.get(newer.group(1)).text) == newest_first[:50]
    third = re.search(r'href="(/jobs\?older_than=[^"]+)" rel="next"', second)
    assert third is not None
    last = idle_client.get(third.group(1)).text
    assert listed(last) == newest_first[100:]
    assert 'rel="next"' not in last

    tenant_id = services.store.tenants.active_client(tenant.client_id)
    assert tenant_id is not None
    for job in jobs[:3]:
        services.store.jobs.request_stop(tenant_id, job.id)
    stopped = idle_client.get("/jobs", params={"status": "STOPPED"}).text
    assert listed(stopped) == [job.id for job in reversed(jobs[:3])]
    assert listed(idle_client.get("/jobs", params={"q": "before it started"}).text) == listed(
        stopped
    )
    assert listed(idle_client.get("/jobs", params={"q": "no such words"}).text) == []


def test_the_jobs_list_filters_by_schedule(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    schedule = idle_client.post(
        "/api/jobmanager/v3/schedules",
        headers=tenant.headers,
        json={**refs, "name": "nightly", "scheduleString": "0 0 * * *"},
    )
    assert schedule.status_code == 201, schedule.text
    schedule_id = schedule.json()["id"]
    tenant_id = services.store.tenants.active_client(tenant.client_id)
    assert tenant_id is not None
    spec = JobSpec(
        model_id=refs["modelId"],
        configuration_id=refs["configurationId"],
        input_folder_id=refs["inputFolderId"],
        output_folder_id=refs["outputFolderId"],
        max_execution_seconds=60,
        schedule_id=schedule_id,
    )
    fired = services.store.jobs.create(tenant_id, tenant.name, spec)
    make_jobs(services, tenant, refs, 2)
    sign_in(idle_client, tenant)
    page = idle_client.get("/jobs").text
    assert f'<option value="{schedule_id}">nightly</option>' in page
    filtered = idle_client.get("/jobs", params={"schedule": schedule_id}).text
    assert listed(filtered) == [fired.id]
    # The rows refresh themselves with the same filter.
    assert f'hx-get="/jobs/rows?schedule={schedule_id}"' in filtered
    refreshed = idle_client.get("/jobs/rows", params={"schedule": schedule_id}).text
    assert listed(refreshed) == [fired.id]
    assert (
        f'href="/jobs?schedule={schedule_id}"' in idle_client.get(f"/schedules/{schedule_id}").text
    )


def test_a_filter_searches_a_bounded_window_and_goes_on_from_it(
    idle_client: TestClient,
    services: Services,
    tenant: TenantClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rare match costs no more than SCAN rows a page; Older goes on from the window."""
    monkeypatch.setattr(console_jobs, "SCAN", 20)
    refs = runnable_references(idle_client, tenant)
    jobs = make_jobs(services, tenant, refs, 45)
    services.store.jobs.request_stop(jobs[0].tenant_id, jobs[2].id)  # the only STOPPED, 43rd newest
    sign_in(idle_client, tenant)
    first = idle_client.get("/jobs", params={"status": "STOPPED"}).text
    assert listed(first) == []
    assert "match these filters here" in first
    assert "looks through 20 jobs at a time" in first
    link = re.search(r'href="(/jobs\?[^"]+)" rel="next">Search older jobs', first)
    assert link is not None
    second = idle_client.get(link.group(1).replace("&amp;", "&")).text
    assert listed(second) == []
    link = re.search(r'href="(/jobs\?[^"]+)" rel="next">Search older jobs', second)
    assert link is not None
    third = idle_client.get(link.group(1).replace("&amp;", "&")).text
    assert listed(third) == [jobs[2].id]
    assert 'rel="next"' not in third


def test_a_job_page_shows_its_timeline_and_parameters_to_its_tenant_only(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    (job,) = make_jobs(services, tenant, refs, 1)
    other = make_tenant(services, idle_client, "console-b")
    sign_in(idle_client, tenant)
    token = idle_client.cookies["XSRF-TOKEN"]
    page = idle_client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    assert "SUBMITTED" in page.text
    assert "threshold" in page.text
    assert f'sse-connect="/jobs/{job.id}/live"' in page.text  # live: it is not final

    refused = idle_client.post(f"/jobs/{job.id}/stop")
    assert refused.status_code == 403
    stopped = idle_client.post(
        f"/jobs/{job.id}/stop", headers={"X-XSRF-TOKEN": token, "HX-Request": "true"}
    )
    assert stopped.status_code == 200
    assert "STOPPED" in stopped.text
    assert "Stopped before it started." in stopped.text

    stream = idle_client.get(f"/jobs/{job.id}/live").text
    assert "event: status\ndata: STOPPED" in stream
    assert "event: end\ndata: The run is over: STOPPED." in stream

    sign_in(idle_client, other)
    foreign = idle_client.get(f"/jobs/{job.id}")
    assert foreign.status_code == 404
    assert "Not found" in foreign.text
    assert idle_client.get(f"/jobs/{job.id}/live").status_code == 404


def test_run_again_repair_and_submit_again_by_the_api_rules(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    (job,) = make_jobs(services, tenant, refs, 1)
    token = sign_in(idle_client, tenant)
    page = idle_client.get(f"/jobs/{job.id}").text
    assert f'href="/submit?job={job.id}"' in page  # never staged: no provenance to re-run
    assert "Run again" not in page and "Repair" not in page
    refused = idle_client.post(f"/jobs/{job.id}/rerun", data={"xsrf_token": token})
    assert refused.status_code == 409 and "has no provenance" in refused.text
    again = idle_client.get(f"/submit?job={job.id}").text
    assert 'name="param.threshold" value="70"' in again
    assert f'<option value="{refs["inputFolderId"]}" selected>' in again
    assert 'name="time_limit" inputmode="numeric" pattern="[0-9]*" value="60"' in again

    services.store.jobs.record_provenance(
        job.id, modelVersionId=job.model_version_id, parameters=job.parameters, failedStep=1
    )
    services.store.jobs.transition(job.id, [JobStatus.SUBMITTED], JobStatus.FAILED)
    page = idle_client.get(f"/jobs/{job.id}").text
    assert "Run again" in page and f'href="/jobs/{job.id}/rerun"' in page
    assert f'action="/jobs/{job.id}/repair"' in page and "from paragraph 1" in page

    answer = idle_client.post(f"/jobs/{job.id}/rerun", data={"xsrf_token": token})
    assert answer.status_code == 303
    rerun = made_job(services, job, answer.headers["location"])
    assert (rerun.model_version_id, rerun.input_folder_id, rerun.parameters, rerun.rerun_of) == (
        job.model_version_id,
        job.input_folder_id,
        job.parameters,
        job.id,
    )
    form = idle_client.get(f"/jobs/{job.id}/rerun").text
    assert 'name="param.threshold" value="70"' in form
    edited = idle_client.post(
        f"/jobs/{job.id}/rerun",
        data={"xsrf_token": token, "edited": "true", "param.threshold": "65", "time_limit": "90"},
    )
    assert edited.status_code == 303, edited.text
    changed = made_job(services, job, edited.headers["location"])
    assert (changed.parameters, changed.max_execution_seconds) == ({"threshold": "65"}, 90)

    repaired = idle_client.post(f"/jobs/{job.id}/repair", data={"xsrf_token": token})
    assert repaired.status_code == 303
    repair = made_job(services, job, repaired.headers["location"])
    assert (repair.repair_of, repair.options["repairFrom"]) == (job.id, 1)
    assert f'href="/jobs/{job.id}"' in idle_client.get(f"/jobs/{repair.id}").text


def made_job(services: Services, origin: JobRecord, location: str) -> JobRecord:
    assert location.startswith("/jobs/") and location != f"/jobs/{origin.id}"
    return services.store.jobs.get(origin.tenant_id, location.removeprefix("/jobs/"))


def test_submit_sends_a_notebooks_parameters_with_their_types(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    cell = nbformat.v4.new_code_cell("n = 10\nlabel = '10'", metadata={"tags": ["parameters"]})
    notebook = nbformat.v4.new_notebook(cells=[cell])
    model = upload_model(idle_client, tenant, nbformat.writes(notebook).encode(), "typed")
    token = sign_in(idle_client, tenant)
    form = idle_client.get(f"/submit?model={model}").text
    assert 'name="param.n" value="10"' in form and 'name="param.label" value="10"' in form
    fields = {
        "xsrf_token": token,
        "model": model,
        "configuration": refs["configurationId"],
        "input_folder": refs["inputFolderId"],
        "output_folder": refs["outputFolderId"],
        "param.n": "10",
        "param.label": "10",
    }
    answer = idle_client.post("/submit", data=fields)
    assert answer.status_code == 303, answer.text
    job = services.store.jobs.get(
        str(services.store.tenants.active_client(tenant.client_id)),
        answer.headers["location"].removeprefix("/jobs/"),
    )
    assert job.parameters == {"n": 10, "label": "10"}
    refused = idle_client.post(
        "/submit", data={**fields, "param.n": "ten"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 400
    assert "parameters.n: &#39;ten&#39; is not an integer" in refused.text
    assert refused.headers["HX-Reswap"].startswith("innerHTML show:#flash:top")


def test_submit_makes_a_job_by_the_api_rules(
    idle_client: TestClient, services: Services, tenant: TenantClient
) -> None:
    refs = runnable_references(idle_client, tenant)
    token = sign_in(idle_client, tenant)
    form = idle_client.get("/submit").text
    assert refs["modelId"] in form
    assert "public/in" in form and "public/out" in form
    fields = {
        "xsrf_token": token,
        "model": refs["modelId"],
        "configuration": refs["configurationId"],
        "input_folder": refs["inputFolderId"],
        "output_folder": refs["outputFolderId"],
        "param.threshold": "70",
        "extra_parameters": '{"days": 3}',
        "time_limit": "120",
    }
    answer = idle_client.post("/submit", data=fields)
    assert answer.status_code == 303, answer.text
    job_id = answer.headers["location"].removeprefix("/jobs/")
    tenant_id = services.store.tenants.active_client(tenant.client_id)
    assert tenant_id is not None
    job = services.store.jobs.get(tenant_id, job_id)
    assert job.parameters == {"threshold": "70", "days": 3}
    assert job.max_execution_seconds == 120

    fresh = idle_client.post("/submit", data={**fields, "new_output_folder": "run 2"})
    assert fresh.status_code == 303, fresh.text
    made = services.store.jobs.get(tenant_id, fresh.headers["location"].removeprefix("/jobs/"))
    assert made.output_folder_id != refs["outputFolderId"]
    assert ("public/out/run 2", made.output_folder_id) in services.store.dataexchange.list_folders(
        tenant_id
    )
    taken = idle_client.post("/submit", data={**fields, "new_output_folder": "run 2"})
    assert taken.status_code == 409

    too_long = idle_client.post(
        "/submit", data={**fields, "time_limit": "0"}, headers={"HX-Request": "true"}
    )
    assert too_long.status_code == 400
    assert "maximumExecutionTimeInSeconds must be at least 1" in too_long.text
    assert too_long.headers["HX-Retarget"] == "#flash"
    bad_json = idle_client.post("/submit", data={**fields, "extra_parameters": "{"})
    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.text
    missing = idle_client.post("/submit", data={**fields, "model": "no-such-model"})
    assert missing.status_code == 400
    assert "no-such-model" in missing.text
