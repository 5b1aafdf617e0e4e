"""Bodies of `/api/prl/v3`: environment configurations and environments (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.schemas import DISPLAY_NAME_SCHEMA, integral, timestamp
from jobmanager.api.schemas.retries import RetryBody
from jobmanager.domain import egress
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.names import NameRuleError, check_display_name
from jobmanager.domain.requirements import (
    MAX_REQUIREMENT_CHARS,
    MAX_REQUIREMENTS,
    REQUIREMENT_PATTERN,
    RequirementError,
    normalize_requirements,
)
from jobmanager.startup.settings import Settings
from jobmanager.store.configurations import (
    DEFAULT_RUNTIME,
    ConfigurationRecord,
    ConfigurationSpec,
    EnvironmentRecord,
)

MIN_CPUS, MAX_CPUS = 0.1, 64.0
MIN_MEMORY_MIB, MAX_MEMORY_MIB = 128, 262_144
MIN_PROCESSES, MAX_PROCESSES = 16, 65_536
MIN_DISK_MIB, MAX_DISK_MIB = 16, 16_777_216
MAX_ENVIRONMENTS = 64
MAX_DESCRIPTION_CHARS = 4_000
MAX_VARIABLES = 200
MAX_VARIABLE_VALUE_CHARS = 32_768
# `python3` is the service's own Python 3; `python3.N` asks for that minor version.
_RUNTIME = re.compile(r"python3(\.(?:[89]|[1-9][0-9]))?")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Set by the engine in every environment; a configuration may not override them.
RESERVED_VARIABLES = frozenset({"inputFolder", "outputFolder", "PYTHONUNBUFFERED", "MPLBACKEND"})
RESERVED_PREFIX = "JOBMANAGER_"

# The rules of the validators below, for the OpenAPI document (their messages are better
# than a failed pattern's, so they do the checking).
RUNTIME_SCHEMA: dict[str, Any] = {"pattern": f"^{_RUNTIME.pattern}$"}
PACKAGES_SCHEMA: dict[str, Any] = {
    "maxItems": MAX_REQUIREMENTS,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": REQUIREMENT_PATTERN, "maxLength": MAX_REQUIREMENT_CHARS},
}
VARIABLES_SCHEMA: dict[str, Any] = {
    "maxProperties": MAX_VARIABLES,
    "propertyNames": {
        "pattern": f"^{_VARIABLE_NAME.pattern}$",
        "not": {
            "anyOf": [{"enum": sorted(RESERVED_VARIABLES)}, {"pattern": f"^{RESERVED_PREFIX}"}]
        },
    },
    "additionalProperties": {
        "type": "string",
        "maxLength": MAX_VARIABLE_VALUE_CHARS,
        "pattern": "^[^\\x00]*$",
    },
}

NETWORK_ALLOW_SCHEMA: dict[str, Any] = {
    "maxItems": egress.MAX_DESTINATIONS,
    "items": {"type": "string", "pattern": f"^{egress.NAME_PATTERN}$"},
}
NETWORK_ALLOW_DESCRIPTION = (
    "Names of the service's named destinations (JOBMANAGER_NETWORK_DESTINATIONS) its jobs "
    "may reach beyond public addresses, with network `allowed` (an extension)"
)

WhenBusy = Literal["queue", "fail"]
Network = Literal["allowed", "none"]


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpus: float | None = Field(default=None, ge=MIN_CPUS, le=MAX_CPUS, strict=True)
    memoryMiB: int | None = Field(default=None, ge=MIN_MEMORY_MIB, le=MAX_MEMORY_MIB, strict=True)
    maxProcesses: int | None = Field(default=None, ge=MIN_PROCESSES, le=MAX_PROCESSES, strict=True)
    diskMiB: int | None = Field(default=None, ge=MIN_DISK_MIB, le=MAX_DISK_MIB, strict=True)

    _whole = field_validator("memoryMiB", "maxProcesses", "diskMiB", mode="before")(integral)


class _ConfigurationFields(BaseModel):
    """Field rules shared by create and change; each check names its field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return check_display_name(value, "configuration name")
        except NameRuleError as error:
            raise ValueError(str(error)) from None

    _whole = field_validator("maxEnvironments", mode="before", check_fields=False)(integral)

    @field_validator("runtime", check_fields=False)
    @classmethod
    def _runtime(cls, value: str) -> str:
        if not _RUNTIME.fullmatch(value):
            raise ValueError(f"must be 'python3' or 'python3.N' (N from 8), got {value[:40]!r}")
        return value

    @field_validator("packages", check_fields=False)
    @classmethod
    def _packages(cls, value: list[str]) -> list[str]:
        try:
            return normalize_requirements(value)
        except RequirementError as error:
            raise ValueError(str(error)) from None

    @field_validator("environmentVariables", check_fields=False)
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_VARIABLES:
            raise ValueError(f"at most {MAX_VARIABLES} variables")
        for name, text in value.items():
            _check_variable(name, text)
        return value


class ConfigurationCreate(_ConfigurationFields):
    name: str = Field(json_schema_extra=DISPLAY_NAME_SCHEMA)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    runtime: str = Field(default=DEFAULT_RUNTIME, json_schema_extra=RUNTIME_SCHEMA)
    packages: list[str] = Field(default_factory=list, json_schema_extra=PACKAGES_SCHEMA)
    resources: Resources = Field(default_factory=Resources)
    maxEnvironments: int = Field(default=1, ge=1, le=MAX_ENVIRONMENTS, strict=True)
    whenBusy: WhenBusy = "queue"
    network: Network = Field(
        default="none",
        description="`allowed`: the job reaches public addresses, and what the operator "
        "allows, from a network namespace of its own; `none`: its own loopback only",
    )
    networkAllow: list[str] = Field(
        default_factory=list,
        description=NETWORK_ALLOW_DESCRIPTION,
        json_schema_extra=NETWORK_ALLOW_SCHEMA,
    )
    environmentVariables: dict[str, str] = Field(
        default_factory=dict, json_schema_extra=VARIABLES_SCHEMA
    )
    retry: RetryBody | None = Field(
        default=None, description="Retry policy of its jobs (an extension); default: none"
    )

    def to_spec(self) -> ConfigurationSpec:
        return ConfigurationSpec(
            name=self.name,
            description=self.description,
            runtime=self.runtime,
            packages=tuple(self.packages),
            cpus=self.resources.cpus,
            memory_mib=self.resources.memoryMiB,
            max_processes=self.resources.maxProcesses,
            disk_mib=self.resources.diskMiB,
            max_environments=self.maxEnvironments,
            when_busy=self.whenBusy,
            network=self.network,
            network_allow=tuple(self.networkAllow),
            environment_variables=dict(self.environmentVariables),
            retry=self.retry.to_json() if self.retry is not None else None,
        )


class ConfigurationChange(_ConfigurationFields):
    """A PATCH: only the fields sent change; `resources` replaces every limit."""

    # Null is refused (`_not_null`): the document offers only leaving a field out.
    name: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=DISPLAY_NAME_SCHEMA)
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)] | SkipJsonSchema[None] = (
        None
    )
    runtime: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=RUNTIME_SCHEMA)
    packages: list[str] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=PACKAGES_SCHEMA
    )
    resources: Resources | SkipJsonSchema[None] = None
    maxEnvironments: (
        Annotated[int, Field(ge=1, le=MAX_ENVIRONMENTS, strict=True)] | SkipJsonSchema[None]
    ) = None
    whenBusy: WhenBusy | SkipJsonSchema[None] = None
    network: Network | SkipJsonSchema[None] = None
    networkAllow: list[str] | SkipJsonSchema[None] = Field(
        default=None, description=NETWORK_ALLOW_DESCRIPTION, json_schema_extra=NETWORK_ALLOW_SCHEMA
    )
    environmentVariables: dict[str, str] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=VARIABLES_SCHEMA
    )
    retry: RetryBody | SkipJsonSchema[None] = Field(
        default=None, description='Retry policy of its jobs; `{"maxRetries": 0, ...}` for none'
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, Any]:
        """The `ConfigurationSpec` fields this change sets."""
        sent = self.model_fields_set
        changes: dict[str, Any] = {}
        for field, column in _SIMPLE_COLUMNS.items():
            if field in sent:
                changes[column] = getattr(self, field)
        if "packages" in sent and self.packages is not None:
            changes["packages"] = tuple(self.packages)
        if "networkAllow" in sent and self.networkAllow is not None:
            changes["network_allow"] = tuple(self.networkAllow)
        if "resources" in sent and self.resources is not None:
            changes["cpus"] = self.resources.cpus
            changes["memory_mib"] = self.resources.memoryMiB
            changes["max_processes"] = self.resources.maxProcesses
            changes["disk_mib"] = self.resources.diskMiB
        if "retry" in sent and self.retry is not None:
            changes["retry"] = self.retry.to_json()
        return changes


_SIMPLE_COLUMNS = {
    "name": "name",
    "description": "description",
    "runtime": "runtime",
    "maxEnvironments": "max_environments",
    "whenBusy": "when_busy",
    "network": "network",
    "environmentVariables": "environment_variables",
}


def _check_variable(name: str, text: str) -> None:
    if not _VARIABLE_NAME.fullmatch(name):
        raise ValueError(
            f"variable name {name[:60]!r} must be letters, digits and '_', not starting "
            "with a digit, at most 128 characters"
        )
    if name in RESERVED_VARIABLES or name.startswith(RESERVED_PREFIX):
        raise ValueError(f"variable {name!r} is set by the service and cannot be configured")
    if "\x00" in text:
        raise ValueError(f"variable {name!r} must not contain a NUL character")
    if len(text) > MAX_VARIABLE_VALUE_CHARS:
        raise ValueError(f"variable {name!r} is longer than {MAX_VARIABLE_VALUE_CHARS} characters")


def check_network_allow(names: Sequence[str] | None, settings: Settings) -> None:
    """A configuration's `networkAllow` names only destinations the service names."""
    if names:
        try:
            egress.check_names(names, settings.network_destinations)
        except egress.EgressRuleError as error:
            raise InvalidInput(f"networkAllow: {error}") from None


class AllowedPublic(BaseModel):
    destination: str = Field(description="A network, an address, or host:port")
    name: str | None = Field(
        description="The named destination the configuration allows; null: the service "
        "allows it for every job (JOBMANAGER_NETWORK_ALLOW)"
    )


class EgressPublic(BaseModel):
    """The egress rules in force for the configuration's jobs (an extension)."""

    allowed: list[AllowedPublic] = Field(description="Reached beyond public addresses")
    blocked: list[str] = Field(
        description="Not reached, unless allowed: networks, and in words what the worker "
        "host knows (its loopback, never reached; its own addresses)"
    )

    @classmethod
    def of(cls, record: ConfigurationRecord, settings: Settings) -> EgressPublic:
        if record.network == "none":
            return cls(allowed=[], blocked=list(egress.NOTHING))
        named = settings.network_destinations
        found = egress.allowed(settings.network_allow, named, record.network_allow)
        return cls(
            allowed=[AllowedPublic(destination=str(a.destination), name=a.name) for a in found],
            blocked=[egress.ALWAYS_BLOCKED, egress.HOST_ADDRESSES, *egress.blocked()],
        )


class ResourcesPublic(BaseModel):
    cpus: float | None
    memoryMiB: int | None
    maxProcesses: int | None
    diskMiB: int | None


class ConfigurationPublic(BaseModel):
    id: str
    name: str
    description: str
    runtime: str
    packages: list[str]
    resources: ResourcesPublic
    maxEnvironments: int
    whenBusy: str
    network: str
    networkAllow: list[str] = Field(description=NETWORK_ALLOW_DESCRIPTION)
    egress: EgressPublic
    environmentVariables: dict[str, str]
    retry: dict[str, Any] | None = Field(description="Retry policy of its jobs (an extension)")
    creationDate: str
    modifiedDate: str

    @classmethod
    def of(cls, record: ConfigurationRecord, settings: Settings) -> ConfigurationPublic:
        return cls(
            id=record.id,
            name=record.name,
            description=record.description,
            runtime=record.runtime,
            packages=list(record.packages),
            resources=ResourcesPublic(
                cpus=record.cpus,
                memoryMiB=record.memory_mib,
                maxProcesses=record.max_processes,
                diskMiB=record.disk_mib,
            ),
            maxEnvironments=record.max_environments,
            whenBusy=record.when_busy,
            network=record.network,
            networkAllow=list(record.network_allow),
            egress=EgressPublic.of(record, settings),
            environmentVariables=dict(record.environment_variables),
            retry=record.retry,
            creationDate=timestamp(record.created_at),
            modifiedDate=timestamp(record.modified_at),
        )


class EnvironmentPublic(BaseModel):
    id: str
    configurationId: str
    jobId: str
    slot: int
    status: str
    creationDate: str

    @classmethod
    def of(cls, record: EnvironmentRecord) -> EnvironmentPublic:
        return cls(
            id=record.id,
            configurationId=record.configuration_id,
            jobId=record.job_id,
            slot=record.slot,
            status=record.status,
            creationDate=timestamp(record.created_at),
        )
