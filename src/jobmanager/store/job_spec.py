"""What a caller sets on a job: the input of job creation (`store/jobs.py`), whose
references `store/references.py` checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """What a caller sets on a job; references are checked when the job is created."""

    model_id: str
    configuration_id: str
    input_folder_id: str
    output_folder_id: str
    max_execution_seconds: int
    model_version_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    idempotency_token: str | None = None
    schedule_id: str | None = None
    rerun_of: str | None = None
    repair_of: str | None = None
    retry: dict[str, Any] | None = None
