"""Bodies of `/api/jobmanager/v3/schedules` (SPEC §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.schemas import (
    DISPLAY_NAME_SCHEMA,
    optional_display_name,
    refuse_null,
    timestamp,
)
from jobmanager.api.schemas.jobs import SECONDS_SCHEMA, Parameters, seconds_value
from jobmanager.domain import cron
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.firings import Misfire
from jobmanager.domain.statuses import ScheduleStatus
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.domain.triggers import MAX_DEBOUNCE_SECONDS, MAX_PATTERN_CHARS, Trigger
from jobmanager.store.schedules import (
    FiringRecord,
    Overlap,
    ScheduleRecord,
    ScheduleSpec,
)
from jobmanager.store.types import utcnow

NEXT_FIRE_TIMES = 5
MAX_SCHEDULE_STRING_CHARS = 255


def _zones(schema: dict[str, Any]) -> None:
    """The IANA zones this host knows, in the document (`check_expression` checks)."""
    schema["enum"] = sorted(available_timezones())


class TriggerBody(BaseModel):
    """A data-arrival trigger (an extension): fire on new or changed files of a folder."""

    model_config = ConfigDict(extra="forbid")

    folderId: str = Field(min_length=1, max_length=64, description="The watched folder")
    pattern: str = Field(
        default="*",
        min_length=1,
        max_length=MAX_PATTERN_CHARS,
        description="Glob over the file names directly in the folder (`*.csv`), case-sensitive",
    )
    debounceSeconds: int = Field(
        default=0,
        ge=0,
        le=MAX_DEBOUNCE_SECONDS,
        description="Fire once no file has arrived for this long (0: at once)",
    )

    def to_trigger(self) -> Trigger:
        return Trigger(self.folderId, self.pattern, self.debounceSeconds)

    @classmethod
    def of(cls, trigger: Trigger) -> TriggerBody:
        return cls(
            folderId=trigger.folder_id,
            pattern=trigger.pattern,
            debounceSeconds=trigger.debounce_seconds,
        )


class ScheduleCreate(BaseModel):
    """Schedule parameters. Unknown fields are ignored; every known one is checked."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "oneOf": [{"required": ["scheduleString"]}, {"required": ["trigger"]}],
        },
    )

    name: str | None = Field(default=None, json_schema_extra=DISPLAY_NAME_SCHEMA)
    modelId: str = Field(min_length=1, max_length=64)
    configurationId: str = Field(min_length=1, max_length=64)
    inputFolderId: str = Field(min_length=1, max_length=64)
    outputFolderId: str = Field(min_length=1, max_length=64)
    maximumExecutionTime: int | None = Field(default=None, json_schema_extra=SECONDS_SCHEMA)
    # Exactly one of the two (the document's `oneOf`); null is refused (`_not_null`).
    scheduleString: (
        Annotated[str, Field(min_length=1, max_length=MAX_SCHEDULE_STRING_CHARS)]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="A cron expression; exactly one of `scheduleString` and `trigger`",
    )
    trigger: TriggerBody | SkipJsonSchema[None] = None
    timezone: str = Field(default="UTC", min_length=1, max_length=64, json_schema_extra=_zones)
    misfire: Misfire = "once"
    overlap: Overlap = "skip"
    parameters: Parameters

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return optional_display_name(value, "schedule name")

    _not_null = field_validator("scheduleString", "trigger", mode="before")(refuse_null)

    @field_validator("maximumExecutionTime", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int | None:
        return seconds_value(value, "maximumExecutionTime")

    def to_spec(self, limits: TimeLimits) -> ScheduleSpec:
        """The spec to store; the time limit, time zone and expression are checked here (400)."""
        seconds = limits.seconds(self.maximumExecutionTime, "maximumExecutionTime")
        if (self.scheduleString is None) == (self.trigger is None):
            raise InvalidInput("give exactly one of scheduleString (cron) and trigger (data)")
        check_expression(self.scheduleString or "0 0 * * *", self.timezone)
        return ScheduleSpec(
            name=self.name or "",
            model_id=self.modelId,
            configuration_id=self.configurationId,
            input_folder_id=self.inputFolderId,
            output_folder_id=self.outputFolderId,
            max_execution_seconds=seconds,
            schedule_string=" ".join((self.scheduleString or "").split()),
            timezone=self.timezone,
            misfire=self.misfire,
            overlap=self.overlap,
            parameters=self.parameters,
            trigger=self.trigger.to_trigger() if self.trigger else None,
        )


def check_expression(expression: str, timezone: str) -> None:
    """400 naming `timezone` for an unknown zone, `scheduleString` for a bad expression."""
    try:
        cron.parse("0 0 * * *", timezone)
    except cron.CronError as error:
        raise InvalidInput(f"timezone: {error}; use an IANA name like 'Europe/Berlin'") from None
    try:
        cron.parse(expression, timezone)
    except cron.CronError as error:
        raise InvalidInput(f"scheduleString: {error}") from None


def upcoming_fire_times(record: ScheduleRecord) -> list[datetime]:
    """The next five fire times after now, for a running schedule (none when stopped)."""
    if record.status is not ScheduleStatus.RUNNING or record.trigger is not None:
        return []
    parsed = cron.parse(record.schedule_string, record.timezone)
    return parsed.next_fire_times(NEXT_FIRE_TIMES, utcnow())


def next_fire_times(record: ScheduleRecord) -> list[str]:
    return [timestamp(t) for t in upcoming_fire_times(record)]


class SchedulePublic(BaseModel):
    """ScheduleDetails as the official client reads it, and this service's extensions."""

    id: str
    name: str
    modelId: str
    configurationId: str
    inputFolderId: str
    outputFolderId: str
    maximumExecutionTime: str
    scheduleString: str
    status: str
    creationDate: str
    createdBy: str
    timezone: str
    misfire: str
    overlap: str
    parameters: dict[str, Any]
    nextFireTimes: list[str]
    trigger: TriggerBody | None

    @classmethod
    def of(cls, record: ScheduleRecord) -> SchedulePublic:
        return cls(
            id=record.id,
            name=record.name,
            modelId=record.model_id,
            configurationId=record.configuration_id,
            inputFolderId=record.input_folder_id,
            outputFolderId=record.output_folder_id,
            maximumExecutionTime=str(record.max_execution_seconds),
            scheduleString=record.schedule_string,
            status=record.status.value,
            creationDate=timestamp(record.creation_date),
            createdBy=record.created_by,
            timezone=record.timezone,
            misfire=record.misfire,
            overlap=record.overlap,
            parameters=record.parameters,
            nextFireTimes=next_fire_times(record),
            trigger=TriggerBody.of(record.trigger) if record.trigger else None,
        )


class FiringPublic(BaseModel):
    id: str
    scheduleId: str
    fireTime: str
    outcome: str
    jobId: str | None
    reason: str
    creationDate: str
    files: list[dict[str, Any]] = Field(
        description="The files whose arrival fired a data-arrival trigger (id, name, "
        "sizeInBytes, arrivedAt); empty for cron firings"
    )

    @classmethod
    def of(cls, record: FiringRecord) -> FiringPublic:
        return cls(
            id=record.id,
            scheduleId=record.schedule_id,
            fireTime=timestamp(record.fire_time),
            outcome=record.outcome.value,
            jobId=record.job_id,
            reason=record.reason,
            creationDate=timestamp(record.created_at),
            files=record.files,
        )
