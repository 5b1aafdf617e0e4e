"""What a job ran on, recorded once it is staged (docs/provenance.md): the model version
and the checksum of its payload, every input file's checksum as staged, the parameters,
the configuration as it was, and the exact package set of the environment's Python."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jobmanager.common.chunks import chunks_of
from jobmanager.domain.provenance import input_changes, input_warning
from jobmanager.engine.pythons import package_set
from jobmanager.jobrun.staging import StagedInput
from jobmanager.store.configurations import ConfigurationRecord
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in chunks_of(path.open("rb")):
        digest.update(chunk)
    return digest.hexdigest()


def staged_record(
    job: JobRecord,
    model_checksum: str,
    executed_note: str,
    staged: StagedInput,
    configuration: ConfigurationRecord,
    python: str,
) -> dict[str, Any]:
    """The provenance of a staged job, as JSON."""
    return {
        "modelId": job.model_id,
        "modelVersionId": job.model_version_id,
        "modelChecksum": model_checksum,
        "executedNote": executed_note,
        "inputs": dict(staged.checksums),
        "parameters": dict(job.parameters),
        "configuration": _json(dataclasses.asdict(configuration)),
        "environment": {"python": python, "packages": list(package_set(python))},
        "recordedAt": utcnow().isoformat(),
    }


def origin_warnings(store: Store, job: JobRecord, record: Mapping[str, Any]) -> list[str]:
    """For a re-run or a repair: what differs from the job it comes from (its input
    files, its configuration since changed)."""
    origin_id = job.rerun_of or job.repair_of
    if origin_id is None:
        return []
    origin = store.jobs.get(job.tenant_id, origin_id).provenance or {}
    warnings = [
        input_warning(origin_id, input_changes(origin.get("inputs") or {}, record["inputs"]))
    ]
    before = (origin.get("configuration") or {}).get("modified_at")
    if before is not None and before != record["configuration"]["modified_at"]:
        warnings.append(
            f"Warning: configuration {job.configuration_id} changed since job {origin_id} ran."
        )
    return [warning for warning in warnings if warning]


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value
