"""What `make run` leaves a new user with: the example configuration runs more than one job
at a time."""

from __future__ import annotations

import time
from pathlib import Path

from jobmanager.client import Client
from jobmanager.client.folders import resolve_folder
from tests.acceptance.server import ServerProcess
from tests.acceptance.test_cli_jobs import SLOW_NOTE


def test_the_example_configuration_runs_two_jobs_at_once(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "home", args=("--example",), extra_env={"JOBMANAGER_JOB_SLOTS": "2"}
    ).start()
    try:
        deadline = time.monotonic() + 120
        while "keeps running" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "example job SUCCEEDED" in server.log(), server.log()
        credentials = server.dev_credentials()
        with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as api:
            example = next(c for c in api.iter_configurations() if c.name == "example")
            assert example.max_environments > 1
            slow = tmp_path / "slow.zpln"
            slow.write_text(SLOW_NOTE)
            model = api.create_model("slow", slow)
            inputs = resolve_folder(api, "public/example-input")
            outputs = resolve_folder(api, "public/slow-output", create=True)
            jobs = [api.submit_job(model.id, example.id, inputs.id, outputs.id) for _ in range(2)]
            try:
                while time.monotonic() < deadline + 60:
                    statuses = [api.get_job(job.id).status for job in jobs]
                    if statuses == ["RUNNING", "RUNNING"]:
                        break
                    time.sleep(0.2)
                assert statuses == ["RUNNING", "RUNNING"]
            finally:
                for job in jobs:
                    api.stop_job(job.id)
    finally:
        server.stop()
