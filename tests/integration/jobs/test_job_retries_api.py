"""Retries of jobs that really run, through the API: a failing model is run again as its
policy says, each attempt's outputs kept under its name; bad policies answer 400."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import (
    FINAL,
    JOBS,
    create_configuration,
    runnable_references,
    wait_for,
    zeppelin_note,
)
from tests.integration.jobs.test_job_runs import submit

CONFIGURATIONS = "/api/prl/v3/configurations"
FAILED_TWICE = {"maxRetries": 1, "retryOn": ["failed"], "backoff": {"initialSeconds": 0}}


def test_a_failing_model_runs_again_and_keeps_each_attempts_outputs(
    client: TestClient, services: Services, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/tried.txt', 'w').write('yes')",
        "%python\nraise RuntimeError('always')",
    )
    job = submit(client, tenant_a, note, folders, retry=FAILED_TWICE)
    assert job["retry"]["maxRetries"] == 1 and job["attempt"] == 1
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "FAILED" and "always" in done["message"]
    assert done["attempt"] == 2
    attempts = done["attempts"]
    assert [(a["number"], a["outcome"]) for a in attempts] == [(1, "FAILED"), (2, "FAILED")]
    assert attempts[0]["message"].startswith("Retrying in 0 s: attempt 2 of 2 [")
    assert attempts[0]["endDate"] <= attempts[1]["startDate"]
    tenant = services.store.tenants.get_by_name(tenant_a.name)
    names = {name for name, _ in services.store.dataexchange.list_tree(tenant.id, folders[1])}
    assert {"attempt-1/tried.txt", "tried.txt"} <= names


def test_a_configurations_policy_is_shown_and_changed(
    client: TestClient, tenant_a: TenantClient
) -> None:
    configuration = create_configuration(client, tenant_a, retry=FAILED_TWICE)
    url = f"{CONFIGURATIONS}/{configuration}"
    shown = client.get(url, headers=tenant_a.headers).json()["retry"]
    assert shown == {
        "maxRetries": 1,
        "retryOn": ["failed"],
        "backoff": {"initialSeconds": 0.0, "multiplier": 2.0, "maxSeconds": 300.0},
    }
    changed = client.patch(
        url, headers=tenant_a.headers, json={"retry": {"maxRetries": 3, "retryOn": ["timedOut"]}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["retry"]["maxRetries"] == 3


def test_bad_policies_answer_400_naming_the_field(
    client: TestClient, tenant_a: TenantClient
) -> None:
    references = runnable_references(client, tenant_a)
    bad: list[Any] = [
        {"maxRetries": 11, "retryOn": ["failed"]},
        {"maxRetries": 1, "retryOn": ["sometimes"]},
        {"maxRetries": 1, "retryOn": []},
        {"maxRetries": 1, "retryOn": ["failed"], "backoff": {"multiplier": 0.5}},
        {"maxRetries": 1, "retryOn": ["failed"], "extra": True},
        "always",
    ]
    for policy in bad:
        answer = client.post(JOBS, headers=tenant_a.headers, json={**references, "retry": policy})
        assert "retry" in assert_error(answer, 400)["message"], policy
    answer = client.post(CONFIGURATIONS, headers=tenant_a.headers, json={"name": "c", "retry": 1})
    assert "retry" in assert_error(answer, 400)["message"]
