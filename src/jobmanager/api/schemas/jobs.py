"""Bodies of `/api/jobmanager/v3/jobs` (SPEC §1)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from jobmanager.api.schemas import timestamp
from jobmanager.api.schemas.retries import RetryBody
from jobmanager.domain.parameters import MAX_PARAMETERS_BYTES, check_parameters
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.store.attempts import AttemptRecord
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.jobs import Accounting, JobRecord
from jobmanager.store.outputs import OutputRecord

MAX_TOKEN_CHARS = 128

# Values for a note's forms or a notebook's `parameters` cell, bounded in size.
Parameters = Annotated[
    dict[str, Any],
    AfterValidator(check_parameters),
    Field(
        default_factory=dict,
        description=f"Values for the model's parameters; at most {MAX_PARAMETERS_BYTES} "
        'bytes as JSON. NaN and infinities are written {"$numberDouble": "NaN"} '
        '("Infinity", "-Infinity"); a request may also carry them as NaN, Infinity, -Infinity',
    ),
]


# `seconds_value` in the document: at least 1 (at most the operator's maximum, which the
# route checks).
SECONDS_SCHEMA: dict[str, Any] = {"minimum": 1}


def seconds_value(value: Any, field: str) -> int | None:
    """A number of seconds sent as a string (`"7200"`, as the docs do) or as a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a whole number of seconds, not a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError(f'{field} must be a whole number of seconds, e.g. "3600"')
    if value < 1:
        raise ValueError(f"{field} must be at least 1")
    return value


class JobCreate(BaseModel):
    """Job parameters. Unknown fields are ignored; every known one is checked."""

    model_config = ConfigDict(extra="ignore")

    modelId: str = Field(min_length=1, max_length=64)
    configurationId: str = Field(min_length=1, max_length=64)
    inputFolderId: str = Field(min_length=1, max_length=64)
    outputFolderId: str = Field(min_length=1, max_length=64)
    maximumExecutionTimeInSeconds: int | None = Field(
        default=None, json_schema_extra=SECONDS_SCHEMA
    )
    modelVersionId: str | None = Field(default=None, min_length=1, max_length=64)
    parameters: Parameters
    idempotencyToken: str | None = Field(default=None, min_length=1, max_length=MAX_TOKEN_CHARS)
    stopOnError: bool | None = Field(
        default=None,
        description=(
            "End the run at the first failed cell or paragraph. Default: a Jupyter notebook "
            "stops there (as papermill does), a Zeppelin note runs its other paragraphs "
            "and the job ends FAILED."
        ),
    )

    retry: RetryBody | None = Field(
        default=None,
        description="Retry policy of this job (an extension); default: its configuration's",
    )

    @field_validator("maximumExecutionTimeInSeconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int | None:
        return seconds_value(value, "maximumExecutionTimeInSeconds")

    def to_spec(self, limits: TimeLimits) -> JobSpec:
        """The job to store; a time limit above the maximum is a 400."""
        seconds = limits.seconds(
            self.maximumExecutionTimeInSeconds, "maximumExecutionTimeInSeconds"
        )
        return JobSpec(
            model_id=self.modelId,
            configuration_id=self.configurationId,
            input_folder_id=self.inputFolderId,
            output_folder_id=self.outputFolderId,
            max_execution_seconds=seconds,
            model_version_id=self.modelVersionId,
            parameters=self.parameters,
            options={"stopOnError": self.stopOnError},
            idempotency_token=self.idempotencyToken,
            retry=self.retry.to_json() if self.retry is not None else None,
        )


class ProgressPublic(BaseModel):
    unit: str
    current: int
    total: int
    title: str
    text: str


class AccountingPublic(BaseModel):
    """Where the job's time and resources went (an extension; docs/accounting.md).
    A figure is null until the phase it describes has ended."""

    model_config = ConfigDict(json_schema_extra={"x-extension": True})

    queuedSeconds: float | None
    startingSeconds: float | None
    runningSeconds: float | None
    savingSeconds: float | None
    peakMemoryBytes: int | None
    cpuSeconds: float | None
    usageSource: str | None
    bytesIn: int | None
    bytesOut: int | None

    @classmethod
    def of(cls, figures: Accounting) -> AccountingPublic:
        return cls(
            queuedSeconds=figures.queued_seconds,
            startingSeconds=figures.starting_seconds,
            runningSeconds=figures.running_seconds,
            savingSeconds=figures.saving_seconds,
            peakMemoryBytes=figures.peak_memory_bytes,
            cpuSeconds=figures.cpu_seconds,
            usageSource=figures.usage_source,
            bytesIn=figures.bytes_in,
            bytesOut=figures.bytes_out,
        )


class AttemptPublic(BaseModel):
    """One attempt at running the job (an extension): its worker, times and end."""

    model_config = ConfigDict(json_schema_extra={"x-extension": True})

    number: int
    workerId: str
    startDate: str
    endDate: str | None
    outcome: str | None
    message: str

    @classmethod
    def of(cls, attempt: AttemptRecord) -> AttemptPublic:
        return cls(
            number=attempt.number,
            workerId=attempt.worker_id,
            startDate=timestamp(attempt.started_at),
            endDate=timestamp(attempt.ended_at) if attempt.ended_at else None,
            outcome=attempt.outcome,
            message=attempt.message,
        )


class JobPublic(BaseModel):
    id: str
    jobId: str
    modelId: str
    modelVersionId: str
    configurationId: str
    environmentId: str
    inputFolderId: str
    outputFolderId: str
    maximumExecutionTimeInSeconds: str
    status: str
    message: str
    creationDate: str
    createdBy: str
    startDate: str | None
    endDate: str | None
    progress: ProgressPublic | None
    parameters: dict[str, Any]
    scheduleId: str | None
    accounting: AccountingPublic
    rerunOf: str | None = Field(
        description="**Extension**: the job this one re-runs (docs/provenance.md)"
    )
    repairOf: str | None = Field(
        description="**Extension**: the job this one repairs (docs/provenance.md)"
    )
    # Extensions: retries and the queue (docs/queues.md).
    retry: dict[str, Any] | None = Field(description="The job's own retry policy, if any")
    attempt: int = Field(description="The number of the attempt under way, or next")
    attempts: list[AttemptPublic] = Field(description="Attempts so far (a single job only)")
    queuePosition: int | None = Field(
        description="A waiting job's place in its configuration's queue, 1 for next "
        "(a single job only)"
    )

    @classmethod
    def of(cls, job: JobRecord) -> JobPublic:
        return cls(
            id=job.id,
            jobId=job.id,
            modelId=job.model_id,
            modelVersionId=job.model_version_id,
            configurationId=job.configuration_id,
            environmentId=job.environment_id,
            inputFolderId=job.input_folder_id,
            outputFolderId=job.output_folder_id,
            maximumExecutionTimeInSeconds=str(job.max_execution_seconds),
            status=job.status.value,
            message=job.message,
            creationDate=timestamp(job.creation_date),
            createdBy=job.created_by,
            startDate=timestamp(job.start_date) if job.start_date else None,
            endDate=timestamp(job.end_date) if job.end_date else None,
            progress=ProgressPublic(**job.progress) if job.progress else None,
            parameters=job.parameters,
            scheduleId=job.schedule_id,
            accounting=AccountingPublic.of(job.accounting),
            rerunOf=job.rerun_of,
            repairOf=job.repair_of,
            retry=job.retry,
            attempt=job.attempt,
            attempts=[AttemptPublic.of(attempt) for attempt in job.attempts],
            queuePosition=job.queue_position,
        )


class JobListPublic(BaseModel):
    """Both envelopes in one body: the official client's `{jobs, page}` and Spring's page."""

    model_config = ConfigDict(extra="allow")

    content: list[JobPublic]
    jobs: list[JobPublic]
    page: dict[str, int]


class JobOutputPublic(BaseModel):
    """A file the job saved (an extension): its path in the output folder as saved (under
    `attempt-N/` for a retried attempt's) and what it saved there."""

    model_config = ConfigDict(json_schema_extra={"x-extension": True})

    path: str
    name: str
    sizeInBytes: int
    sha256: str = Field(description="SHA-256 of the bytes, lowercase hex")
    type: str = Field(description="Media type")
    attempt: int = Field(description="The attempt that saved it")
    creationDate: str

    @classmethod
    def of(cls, output: OutputRecord) -> JobOutputPublic:
        return cls(
            path=output.path,
            name=output.name,
            sizeInBytes=output.size,
            sha256=output.sha256,
            type=output.media_type,
            attempt=output.attempt,
            creationDate=timestamp(output.created_at),
        )


class JobOutputListPublic(BaseModel):
    """A page of a job's outputs, by path: `{outputs, page}` and the Spring page fields."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"x-extension": True})

    content: list[JobOutputPublic]
    outputs: list[JobOutputPublic]
    page: dict[str, int]
