"""The rules the job use cases hold (`usecases/jobs.py`): what a re-run and a repair of
a job are made of. The use cases' calls through the API and the console:
tests/integration/console/test_reruns.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobmanager.domain.errors import Conflict, InvalidInput
from jobmanager.domain.statuses import JobStatus
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.store.jobs import JobRecord
from jobmanager.usecases.jobs import repair_spec, rerun_spec

LIMITS = TimeLimits(default=3600, maximum=7200)


def job(status: JobStatus = JobStatus.FAILED, **fields: Any) -> JobRecord:
    made: dict[str, Any] = {
        "id": "job-1",
        "tenant_id": "t",
        "created_by": "tenant",
        "model_id": "m",
        "model_version_id": "v-last",
        "configuration_id": "c",
        "input_folder_id": "in",
        "output_folder_id": "out",
        "environment_id": "",
        "max_execution_seconds": 120,
        "parameters": {"n": 1},
        "options": {"stopOnError": True},
        "status": status,
        "message": "",
        "progress": None,
        "creation_date": datetime(2026, 1, 1, tzinfo=UTC),
        "start_date": None,
        "running_since": None,
        "end_date": None,
        "stop_requested": False,
        "worker_id": None,
        "heartbeat_at": None,
        "schedule_id": None,
        "provenance": {"modelVersionId": "v-ran", "parameters": {"n": 2}, "failedStep": 3},
    }
    return JobRecord(**(made | fields))


def test_a_rerun_runs_the_version_it_ran_with_its_recorded_parameters() -> None:
    spec = rerun_spec(job(), LIMITS)
    assert (spec.rerun_of, spec.repair_of, spec.model_version_id) == ("job-1", None, "v-ran")
    assert (spec.parameters, spec.max_execution_seconds) == ({"n": 2}, 120)
    assert spec.options == {"stopOnError": True}


def test_a_rerun_takes_new_parameters_and_time_limit_within_the_maximum() -> None:
    spec = rerun_spec(job(), LIMITS, {"n": 5}, 900)
    assert (spec.parameters, spec.max_execution_seconds) == ({"n": 5}, 900)
    with pytest.raises(InvalidInput, match="maximumExecutionTimeInSeconds: at most 7200"):
        rerun_spec(job(), LIMITS, None, 7201)
    with pytest.raises(InvalidInput, match="at most 100"):  # the origin's, if over it now
        rerun_spec(job(), TimeLimits(default=60, maximum=100))


def test_a_rerun_of_a_repair_does_not_repair() -> None:
    repair = job(repair_of="job-0", options={"repairFrom": 3, "stopOnError": True})
    spec = rerun_spec(repair, LIMITS)
    assert (spec.rerun_of, spec.repair_of, spec.options) == ("job-1", None, {"stopOnError": True})


def test_a_repair_starts_at_the_failed_step_of_a_failed_or_stopped_job() -> None:
    spec = repair_spec(job(options={"repairFrom": 9}))
    assert (spec.repair_of, spec.options["repairFrom"], spec.rerun_of) == ("job-1", 3, None)
    assert spec.max_execution_seconds == 120
    assert repair_spec(job(JobStatus.STOPPED)).repair_of == "job-1"
    with pytest.raises(Conflict, match="only a FAILED or STOPPED job"):
        repair_spec(job(JobStatus.SUCCEEDED))
    with pytest.raises(Conflict, match="no failed paragraph or cell"):
        repair_spec(job(provenance={"modelVersionId": "v-ran"}))


def test_neither_is_made_of_a_job_never_staged() -> None:
    with pytest.raises(Conflict, match="has no provenance"):
        rerun_spec(job(provenance=None), LIMITS)
    with pytest.raises(Conflict, match="has no provenance"):
        repair_spec(job(provenance=None))
