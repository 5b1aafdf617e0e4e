"""Defaults live on the server: the Python client and the CLI send no time limit unless
told one, so the operator's default (`JOBMANAGER_DEFAULT_EXECUTION_SECONDS`) is what a
job and a schedule made without one get."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.client import PUBLIC_ROOT_ID, Client
from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import DOUBLE_NOTE

OPERATORS_DEFAULT = 1234
# No job slots: the jobs wait SUBMITTED; only what they were made with counts here.
server = module_server(
    JOBMANAGER_DEFAULT_EXECUTION_SECONDS=str(OPERATORS_DEFAULT), JOBMANAGER_JOB_SLOTS="0"
)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Client]:
    credentials = server.dev_credentials()
    with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as client:
        yield client


@pytest.fixture(scope="module")
def refs(api: Client) -> dict[str, str]:
    model = api.create_model("defaults", io.BytesIO(DOUBLE_NOTE.encode()), filename="d.zpln")
    folder = api.create_directory("defaults-in", PUBLIC_ROOT_ID)
    return {
        "model": model.id,
        "config": api.create_configuration("defaults-env").id,
        "in": folder.id,
        "out": api.create_directory("defaults-out", PUBLIC_ROOT_ID).id,
    }


def test_the_client_sends_no_time_limit_of_its_own(api: Client, refs: dict[str, str]) -> None:
    job = api.submit_job(refs["model"], refs["config"], refs["in"], refs["out"])
    assert job.maximum_execution_time_in_seconds == OPERATORS_DEFAULT
    schedule = api.create_schedule(
        "defaults", refs["model"], refs["config"], refs["in"], refs["out"], "0 0 * * *"
    )
    assert schedule.maximum_execution_time == OPERATORS_DEFAULT
    told = api.submit_job(
        refs["model"], refs["config"], refs["in"], refs["out"], maximum_execution_time=77
    )
    assert told.maximum_execution_time_in_seconds == 77


def test_the_cli_sends_no_time_limit_of_its_own(
    server: ServerProcess, api: Client, refs: dict[str, str], tmp_path: Path
) -> None:
    cli = Cli.for_server(tmp_path, server)
    where = ("-m", refs["model"], "-c", refs["config"], "-i", refs["in"], "-o", refs["out"])
    job = cli("jobs", "submit", *where, "--json").assert_ok().json()
    assert job["maximumExecutionTimeInSeconds"] == str(OPERATORS_DEFAULT)
    schedule = cli("schedules", "create", "nightly", *where, "--cron", "0 0 * * *", "--json")
    assert schedule.assert_ok().json()["maximumExecutionTime"] == str(OPERATORS_DEFAULT)
    told = cli("schedules", "create", "told", *where, "--cron", "0 0 * * *", "--timeout", "88")
    told.assert_ok()
    listed = {made.name: made for made in api.iter_schedules()}
    assert listed["told"].maximum_execution_time == 88
