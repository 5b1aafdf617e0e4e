"""Typed results. Attributes are snake_case; `.raw` is the JSON object as the server sent it.

Unknown fields are ignored (the server may add extensions), missing optional ones are
`None` or empty, so an older or newer server still parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic.alias_generators import to_camel

FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
PUBLIC_ROOT_ID = "_PUBLIC_ROOT_ID"
PRIVATE_ROOT_ID = "_PRIVATE_ROOT_ID"


class ApiObject(BaseModel):
    """A resource as the API shows it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Any:
        parsed = handler(data)
        if isinstance(data, dict):
            parsed._raw = dict(data)
        return parsed

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object as received (camelCase, timestamps as strings)."""
        return self._raw or self.model_dump(by_alias=True, mode="json")


class Page(ApiObject):
    number: int = 0
    size: int = 0
    total_pages: int = 0
    total_elements: int = 0


T = TypeVar("T")


class ListPage(BaseModel, Generic[T]):
    """One page of a list: its items and the page numbers."""

    items: list[T]
    page: Page

    @property
    def is_last(self) -> bool:
        return not self.items or self.page.number + 1 >= self.page.total_pages


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = 1800
    scope: str = ""


class Version(ApiObject):
    id: str
    number: int = 0
    expiration_date: datetime | None = None
    author: str = ""
    creation_date: datetime | None = None
    dependencies: list[Any] = []
    io: dict[str, Any] = {}
    produced_by: list[Any] = []
    kpi: list[Any] = []
    payload_kind: str = ""


class Model(ApiObject):
    id: str
    name: str = ""
    description: str = ""
    type: str = ""
    author: str = ""
    last_version: Version | None = None


class File(ApiObject):
    id: str
    parent_id: str = ""
    name: str = ""
    type: str | None = None
    size_in_bytes: int = 0
    modified_date: datetime | None = None
    modified_by: str = ""

    @field_validator("type", mode="before")
    @classmethod
    def _type_text(cls, value: Any) -> Any:
        return None if value is False else value


class Directory(ApiObject):
    id: str
    name: str = ""
    parent_id: str | None = None
    modified_date: datetime | None = None
    modified_by: str = ""


class Resources(ApiObject):
    cpus: float | None = None
    memory_mib: int | None = Field(default=None, alias="memoryMiB")
    max_processes: int | None = None
    disk_mib: int | None = Field(default=None, alias="diskMiB")


class Allowed(ApiObject):
    destination: str
    name: str | None = None


class Egress(ApiObject):
    """Where the configuration's jobs may connect (see docs/security.md)."""

    allowed: list[Allowed] = []
    blocked: list[str] = []


class Configuration(ApiObject):
    id: str
    name: str = ""
    description: str = ""
    runtime: str = ""
    packages: list[str] = []
    resources: Resources = Resources()
    max_environments: int = 1
    when_busy: str = "queue"
    network: str = "none"
    network_allow: list[str] = []
    egress: Egress | None = None
    environment_variables: dict[str, str] = {}
    retry: dict[str, Any] | None = None
    creation_date: datetime | None = None
    modified_date: datetime | None = None


class Environment(ApiObject):
    id: str
    configuration_id: str = ""
    job_id: str | None = None
    slot: int | None = None
    status: str = ""
    creation_date: datetime | None = None


class Progress(ApiObject):
    """Where a running job is: `unit` is e.g. `paragraph` or `cell`."""

    unit: str = ""
    current: int = 0
    total: int = 0
    title: str = ""
    text: str = ""


class Accounting(ApiObject):
    """Where a job's time and resources went; None until the phase has ended."""

    queued_seconds: float | None = None
    starting_seconds: float | None = None
    running_seconds: float | None = None
    saving_seconds: float | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None
    usage_source: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None


class Attempt(ApiObject):
    """One attempt at running a job: its worker, when it ran, how it ended."""

    number: int = 1
    worker_id: str = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    outcome: str | None = None
    message: str = ""


class Job(ApiObject):
    id: str
    model_id: str = ""
    model_version_id: str | None = None
    configuration_id: str = ""
    environment_id: str | None = None
    input_folder_id: str = ""
    output_folder_id: str = ""
    maximum_execution_time_in_seconds: int = 0
    status: str = ""
    message: str = ""
    creation_date: datetime | None = None
    created_by: str = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    progress: Progress | None = None
    parameters: dict[str, Any] = {}
    schedule_id: str | None = None
    accounting: Accounting | None = None
    rerun_of: str | None = None
    repair_of: str | None = None
    retry: dict[str, Any] | None = None
    attempt: int = 1
    attempts: list[Attempt] = []
    queue_position: int | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class JobOutput(ApiObject):
    """A file a job saved: its path in the output folder as saved (`attempt-N/...` for a
    retried attempt's), size, SHA-256 and media type."""

    path: str
    name: str = ""
    size_in_bytes: int = 0
    sha256: str = ""
    type: str = ""
    attempt: int = 1
    creation_date: datetime | None = None


class ProvenanceEnvironment(ApiObject):
    python: str = ""
    packages: list[str] = []


class Provenance(ApiObject):
    """What a job ran on (docs/provenance.md)."""

    job_id: str
    model_id: str = ""
    model_version_id: str = ""
    model_checksum: str = ""
    executed_note: str = ""
    inputs: dict[str, str] = {}
    parameters: dict[str, Any] = {}
    configuration: dict[str, Any] = {}
    environment: ProvenanceEnvironment | None = None
    recorded_at: datetime | None = None
    failed_step: int | None = None
    replayed: list[int] = []
    rerun_of: str | None = None
    repair_of: str | None = None


class Trigger(ApiObject):
    """A data-arrival trigger: fire on new or changed files of a folder."""

    folder_id: str
    pattern: str = "*"
    debounce_seconds: int = 0


class Schedule(ApiObject):
    id: str
    name: str = ""
    model_id: str = ""
    configuration_id: str = ""
    input_folder_id: str = ""
    output_folder_id: str = ""
    maximum_execution_time: int = 0
    schedule_string: str = ""
    status: str = ""
    creation_date: datetime | None = None
    created_by: str = ""
    timezone: str = "UTC"
    misfire: str = "once"
    overlap: str = "skip"
    parameters: dict[str, Any] = {}
    next_fire_times: list[datetime] = []
    trigger: Trigger | None = None


class Firing(ApiObject):
    """One firing of a schedule; `files` are what fired a data-arrival trigger."""

    id: str
    schedule_id: str = ""
    fire_time: datetime | None = None
    outcome: str = ""
    job_id: str | None = None
    reason: str = ""
    creation_date: datetime | None = None
    files: list[dict[str, Any]] = []


class Webhook(ApiObject):
    """A receiver of job events; `secret` is set only in the answer of the create."""

    id: str
    name: str = ""
    url: str = ""
    events: list[str] = []
    longer_than_seconds: int | None = None
    creation_date: datetime | None = None
    created_by: str = ""
    secret: str | None = None


class Delivery(ApiObject):
    """One delivery of a webhook and its attempts."""

    id: str
    webhook_id: str = ""
    job_id: str = ""
    event: str = ""
    status: str = ""
    attempts: int = 0
    next_attempt_date: datetime | None = None
    last_status_code: int | None = None
    last_error: str = ""
    creation_date: datetime | None = None
    delivery_date: datetime | None = None
    payload: dict[str, Any] = {}
    log: list[dict[str, Any]] = []


Entry = File | Directory
