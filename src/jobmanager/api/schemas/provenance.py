"""Bodies of the provenance extensions of `/api/jobmanager/v3/jobs` (docs/provenance.md):
a job's provenance, and what re-runs and repairs take."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.schemas.jobs import SECONDS_SCHEMA, seconds_value
from jobmanager.domain.parameters import check_parameters
from jobmanager.store.jobs import JobRecord
from jobmanager.usecases.jobs import recorded

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


class JobRerun(BaseModel):
    """A re-run: the job's model version, configuration, folders and parameters, but for
    what is given here (`usecases.jobs.rerun`). Unknown fields are ignored."""

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
