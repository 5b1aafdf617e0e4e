"""Typed parameters declared in a model version's `io.input`, checked by POST /jobs,
POST /schedules and re-runs, through HTTP on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import JOBS, runnable_references, zeppelin_note

MODELS = "/api/modelmanagement/v3/models"
SCHEDULES = "/api/jobmanager/v3/schedules"
DECLARED = [
    {"name": "city", "type": "string", "required": True, "description": "where"},
    {"name": "days", "type": "integer"},
    {"name": "threshold", "type": "number"},
    {"name": "dry", "type": "boolean"},
    {"name": "since", "type": "date"},
    {"name": "mode", "type": "enum", "enum": ["fast", "slow"]},
    {"name": "readings", "type": "timeseries"},
]


def typed_model(client: TestClient, tenant: TenantClient) -> str:
    metadata = {"name": "typed", "type": "zeppelin", "lastVersion": {"io": {"input": DECLARED}}}
    answer = client.post(
        MODELS,
        headers=tenant.headers,
        files={
            "file": ("note.zpln", zeppelin_note("%python\nprint(1)"), "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.fixture
def references(client: TestClient, tenant_a: TenantClient) -> dict[str, str]:
    return {**runnable_references(client, tenant_a), "modelId": typed_model(client, tenant_a)}


def test_the_version_shows_its_declarations(
    client: TestClient, tenant_a: TenantClient, references: dict[str, str]
) -> None:
    model = client.get(f"{MODELS}/{references['modelId']}", headers=tenant_a.headers).json()
    shown = model["lastVersion"]["io"]["input"]
    assert shown[0]["required"] is True and shown[5]["enum"] == ["fast", "slow"]
    assert "required" not in shown[1] and "enum" not in shown[1]


def test_an_enum_without_values_is_refused(client: TestClient, tenant_a: TenantClient) -> None:
    metadata = {"name": "bad", "lastVersion": {"io": {"input": [{"name": "m", "type": "enum"}]}}}
    answer = client.post(
        MODELS,
        headers=tenant_a.headers,
        files={
            "file": ("note.zpln", zeppelin_note("%python\n1"), "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    assert "enum" in assert_error(answer, 400)["message"]


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "parameters.city"),
        ({"city": 1}, "parameters.city"),
        ({"city": "x", "days": "3"}, "parameters.days"),
        ({"city": "x", "threshold": True}, "parameters.threshold"),
        ({"city": "x", "dry": 0}, "parameters.dry"),
        ({"city": "x", "since": "yesterday"}, "parameters.since"),
        ({"city": "x", "mode": "medium"}, "parameters.mode"),
    ],
)
def test_a_job_with_misfit_parameters_is_a_400_naming_the_parameter(
    client: TestClient,
    tenant_a: TenantClient,
    references: dict[str, str],
    parameters: dict[str, Any],
    named: str,
) -> None:
    answer = client.post(
        JOBS, headers=tenant_a.headers, json={**references, "parameters": parameters}
    )
    assert assert_error(answer, 400)["message"].startswith(named)
    schedule = {
        "name": "typed",
        **references,
        "maximumExecutionTime": 60,
        "scheduleString": "0 0 * * * ?",
        "parameters": parameters,
    }
    answer = client.post(SCHEDULES, headers=tenant_a.headers, json=schedule)
    assert assert_error(answer, 400)["message"].startswith(named)


def test_fitting_parameters_are_accepted(
    client: TestClient, tenant_a: TenantClient, references: dict[str, str]
) -> None:
    parameters = {
        "city": "Erlangen",
        "days": 3,
        "threshold": 0.5,
        "dry": True,
        "since": "2026-11-30",
        "mode": "slow",
        "undeclared": [1, 2],
    }
    answer = client.post(
        JOBS, headers=tenant_a.headers, json={**references, "parameters": parameters}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["parameters"] == parameters
