"""Bodies of the provenance extensions of `/api/jobmanager/v3/jobs` (docs/provenance.md):
a job's provenance, and what re-runs and repairs take."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.schemas.jobs import SECONDS_SCHEMA, seconds_value
from jobmanager.domain.errors import Conflict
from jobmanager.domain.parameters import check_parameters
from jobmanager.domain.statuses import REPAIRABLE
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import JobRecord

EXTENSION = ConfigDict(json_schema_extra={"x-extension": True})


class EnvironmentPublic(BaseModel):
    python: str = Field(description="The interpreter of the environment's kernel")
    packages: list[str] = Field(description="Its exact package set, `name==version`")


class ProvenancePublic(BaseModel):
    """What a job ran on, recorded once it was staged. `failedStep` (where a repair
    starts) and `replayed` are added when the run ends."""

    model_config = EXTENSION

    jobId: str
    modelId: str
    modelVersionId: str
    modelChecksum: str = Field(description="SHA-256 of the model version's payload")
    executedNote: str = Field(description="The executed note's path in the output folder")
    inputs: dict[str, str] = Field(description="Each input file's path and SHA-256 as staged")
    parameters: dict[str, Any]
    configuration: dict[str, Any] = Field(description="The configuration as it was")
    environment: EnvironmentPublic
    recordedAt: str
    failedStep: int | None = Field(
        default=None, description="The first failed (or unfinished) paragraph or cell"
    )
    replayed: list[int] = Field(
        default_factory=list, description="The paragraphs or cells a repair replayed"
    )
    rerunOf: str | None
    repairOf: str | None

    @classmethod
    def of(cls, job: JobRecord) -> ProvenancePublic:
        return cls(jobId=job.id, rerunOf=job.rerun_of, repairOf=job.repair_of, **recorded(job))


def recorded(job: JobRecord) -> dict[str, Any]:
    """The job's provenance, or 409 when it has none (it never got as far as its run)."""
    if not job.provenance:
        raise Conflict(
            f"job {job.id} has no provenance: it ended before its model and input were staged"
        )
    return job.provenance


class JobRerun(BaseModel):
    """A re-run: the job's model version, configuration, folders and parameters, but for
    what is given here. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"x-extension": True})

    parameters: (
        Annotated[dict[str, Any], AfterValidator(check_parameters)] | SkipJsonSchema[None]
    ) = Field(default=None, description="Replace the job's parameters (all of them)")
    maximumExecutionTimeInSeconds: int | None = Field(
        default=None, json_schema_extra=SECONDS_SCHEMA
    )

    @field_validator("maximumExecutionTimeInSeconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int | None:
        return seconds_value(value, "maximumExecutionTimeInSeconds")

    def to_spec(self, origin: JobRecord, limits: TimeLimits) -> JobSpec:
        provenance = recorded(origin)
        seconds = self.maximumExecutionTimeInSeconds or origin.max_execution_seconds
        parameters = (
            provenance.get("parameters", {}) if self.parameters is None else self.parameters
        )
        return _like(
            origin,
            max_execution_seconds=limits.seconds(seconds, "maximumExecutionTimeInSeconds"),
            parameters=dict(parameters),
            rerun_of=origin.id,
        )


def repair_spec(origin: JobRecord) -> JobSpec:
    """A repair of a FAILED or STOPPED job: from its first failed paragraph or cell (409
    when it is not final-failed, or never ran a step)."""
    if origin.status not in REPAIRABLE:
        raise Conflict(
            f"job {origin.id} is {origin.status.value}: only a FAILED or STOPPED job is repaired"
        )
    provenance = recorded(origin)
    failed = provenance.get("failedStep")
    if not failed:
        raise Conflict(f"job {origin.id} has no failed paragraph or cell to repair from")
    return _like(
        origin,
        max_execution_seconds=origin.max_execution_seconds,
        parameters=dict(provenance.get("parameters", {})),
        repair_of=origin.id,
        repair_from=int(failed),
    )


def _like(origin: JobRecord, *, repair_from: int = 0, **fields: Any) -> JobSpec:
    """A job like `origin`, on the model version it ran."""
    options = {name: value for name, value in origin.options.items() if name != "repairFrom"}
    if repair_from:
        options["repairFrom"] = repair_from
    return JobSpec(
        model_id=origin.model_id,
        configuration_id=origin.configuration_id,
        input_folder_id=origin.input_folder_id,
        output_folder_id=origin.output_folder_id,
        model_version_id=str(recorded(origin)["modelVersionId"]),
        options=options,
        **fields,
    )
