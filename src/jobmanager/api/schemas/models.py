"""Bodies of `/api/modelmanagement/v3` (SPEC §2): Model, Version and what callers send.

Inputs forbid unknown fields, so a misspelt field is a 400 naming it. The fields the
service sets (`id`, `number`, `creationDate`, `payloadKind`, `payloadWarnings`, a model's
`lastVersion` on PATCH) are accepted and ignored, because the official client's documented examples
send them back. `author` is taken when given, else it is the caller's client id.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.errors import describe_validation_error
from jobmanager.api.schemas import DISPLAY_NAME_SCHEMA, timestamp
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.names import check_display_name
from jobmanager.domain.parameter_types import check_declaration
from jobmanager.store.models import (
    FILTER_FIELDS,
    ModelFilter,
    ModelRecord,
    ModelSpec,
    VersionRecord,
    VersionSpec,
)

MAX_NAME = 255
MAX_TEXT = 10_000
MAX_ITEMS = 1_000
# A value's limit is the one that binds: the whole text's only bounds what is parsed.
MAX_FILTER_VALUE_CHARS = 1_000
MAX_FILTER_CHARS = 65_536

Text = Field(default="", max_length=MAX_TEXT)


# A model's name is a display name (`domain.names`): any text but control characters,
# so `,` and `|` are fine; it is no Data Exchange name. The document says so as a pattern.
Name = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME, json_schema_extra=DISPLAY_NAME_SCHEMA),
    AfterValidator(check_display_name),
]


class _Strict(BaseModel):
    # JSON has no NaN or infinity: a body may carry them (Python's `json` writes them),
    # but neither the database nor a reader of the answer could take them back.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _finite(value: Any) -> Any:
    """A free-form JSON value without NaN or infinities, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and infinities are not JSON numbers")
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        _finite(item)
    return value


JsonValue = Annotated[Any, AfterValidator(_finite)]


class Dependency(_Strict):
    name: str = Field(max_length=MAX_NAME)
    type: str = Field(default="", max_length=MAX_NAME)
    version: str = Field(default="", max_length=MAX_NAME)


def _absent(value: Any) -> bool:
    return value is None


class Column(_Strict):
    """A column of `io.input`/`io.output`; in `io.input`, a typed parameter when its
    `type` is one of `domain.parameter_types.PARAMETER_TYPES` (docs/provenance.md)."""

    name: str = Field(max_length=MAX_NAME)
    type: str = Field(default="", max_length=MAX_NAME)
    description: str = Text
    value: JsonValue = None
    # Extensions of a parameter declaration, stored and shown only when given.
    required: StrictBool | SkipJsonSchema[None] = Field(
        default=None,
        exclude_if=_absent,
        description="**Extension**: a job must give this parameter",
    )
    enum: (
        Annotated[list[StrictStr | StrictInt | StrictFloat], Field(max_length=MAX_ITEMS)]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        exclude_if=_absent,
        description="**Extension**: the values an `enum` parameter may take",
    )

    @field_validator("required", "enum", mode="before")
    @classmethod
    def _given(cls, value: Any) -> Any:
        """Left out, or a value: the document does not allow null (and it means nothing)."""
        if value is None:
            raise ValueError("give a value or leave the field out")
        return value

    @model_validator(mode="after")
    def _enum_values(self) -> Column:
        check_declaration(self.model_dump())
        return self


class Io(_Strict):
    consumes: str | None = Field(default=None, max_length=MAX_TEXT)
    input: list[Column] = Field(default_factory=list, max_length=MAX_ITEMS)
    output: list[Column] = Field(default_factory=list, max_length=MAX_ITEMS)
    optionalParameters: JsonValue = None


class Kpi(_Strict):
    name: str = Field(max_length=MAX_NAME)
    value: StrictStr | StrictInt | StrictFloat | None = None  # no booleans


class _VersionFields(_Strict):
    # Set by the service; accepted so that a version read back can be sent again.
    id: Any = Field(default=None, exclude=True)
    number: Any = Field(default=None, exclude=True)
    creationDate: Any = Field(default=None, exclude=True)
    payloadKind: Any = Field(default=None, exclude=True)
    payloadWarnings: Any = Field(default=None, exclude=True)

    @field_validator("expirationDate", mode="before", check_fields=False)
    @classmethod
    def _text(cls, value: Any) -> Any:
        """ISO-8601 text (or null), as the document says; no numbers of seconds."""
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("must be an ISO-8601 date-time such as '2030-01-31T00:00:00Z'")
        return value

    @field_validator("expirationDate", mode="after", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class VersionCreate(_VersionFields):
    """A VersionDefinition: a version's metadata, as sent with its payload."""

    author: str | None = Field(default=None, max_length=MAX_NAME)
    expirationDate: datetime | None = None
    dependencies: list[Dependency] = Field(default_factory=list, max_length=MAX_ITEMS)
    io: Io = Field(default_factory=Io)
    producedBy: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    kpi: list[Kpi] = Field(default_factory=list, max_length=MAX_ITEMS)

    def to_spec(self, default_author: str) -> VersionSpec:
        definition = self.model_dump(include={"dependencies", "io", "producedBy", "kpi"})
        return VersionSpec(
            definition=definition,
            expiration_date=self.expirationDate,
            author=self.author or default_author,
        )


class VersionChange(_VersionFields):
    """PATCH of the last version: the fields given replace the stored ones."""

    author: Any = Field(default=None, exclude=True)
    expirationDate: datetime | None = None
    # Null is refused (`_not_null`): the document offers only leaving a field out.
    dependencies: list[Dependency] | SkipJsonSchema[None] = Field(
        default=None, max_length=MAX_ITEMS
    )
    io: Io | SkipJsonSchema[None] = None
    producedBy: list[str] | SkipJsonSchema[None] = Field(default=None, max_length=MAX_ITEMS)
    kpi: list[Kpi] | SkipJsonSchema[None] = Field(default=None, max_length=MAX_ITEMS)

    @field_validator("dependencies", "io", "producedBy", "kpi", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        given = self.model_fields_set & {
            "expirationDate",
            "dependencies",
            "io",
            "producedBy",
            "kpi",
        }
        dumped = self.model_dump(include=given)
        if "expirationDate" in given:
            dumped["expirationDate"] = self.expirationDate
        return dumped


class ModelCreate(_Strict):
    """The `metadata` part of `POST /models`: the model and its first version."""

    id: Any = Field(default=None, exclude=True)
    name: Name
    description: str = Text
    type: str = Field(default="", max_length=MAX_NAME)
    author: str | None = Field(default=None, max_length=MAX_NAME)
    lastVersion: VersionCreate = Field(
        default_factory=VersionCreate, validation_alias=AliasChoices("lastVersion", "version")
    )

    def to_spec(self, default_author: str) -> ModelSpec:
        return ModelSpec(
            name=self.name,
            description=self.description,
            type=self.type,
            author=self.author or default_author,
        )


class ModelChange(_Strict):
    """PATCH of a model: name, description and/or type."""

    id: Any = Field(default=None, exclude=True)
    author: Any = Field(default=None, exclude=True)
    lastVersion: Any = Field(default=None, exclude=True)
    name: Name = ""
    description: str = Text
    type: str = Field(default="", max_length=MAX_NAME)

    def changes(self) -> dict[str, str]:
        given = self.model_fields_set & {"name", "description", "type"}
        return {name: getattr(self, name) for name in given}


class VersionPublic(BaseModel):
    id: str
    number: int
    expirationDate: str | None
    author: str
    creationDate: str
    dependencies: list[Any]
    io: dict[str, Any]
    producedBy: list[Any]
    kpi: list[Any]
    payloadKind: str
    payloadWarnings: list[str] = Field(
        description="What a reader of the payload should know (an extension): a notebook "
        "that names no kernel, fields of a newer nbformat this service does not check"
    )

    @classmethod
    def of(cls, record: VersionRecord) -> VersionPublic:
        definition = record.definition
        return cls(
            id=record.id,
            number=record.number,
            expirationDate=timestamp(record.expiration_date) if record.expiration_date else None,
            author=record.author,
            creationDate=timestamp(record.creation_date),
            dependencies=list(definition.get("dependencies", [])),
            io=dict(definition.get("io") or Io().model_dump()),
            producedBy=list(definition.get("producedBy", [])),
            kpi=list(definition.get("kpi", [])),
            payloadKind=record.payload_kind,
            payloadWarnings=list(record.payload_warnings),
        )


class ModelPublic(BaseModel):
    id: str
    name: str
    description: str
    type: str
    author: str
    lastVersion: VersionPublic | None

    @classmethod
    def of(cls, record: ModelRecord) -> ModelPublic:
        last = record.last_version
        return cls(
            id=record.id,
            name=record.name,
            description=record.description,
            type=record.type,
            author=record.author,
            lastVersion=VersionPublic.of(last) if last is not None else None,
        )


class PagePublic(BaseModel):
    number: int
    size: int
    totalPages: int
    totalElements: int


class ModelList(BaseModel):
    models: list[ModelPublic]
    page: PagePublic


class VersionList(BaseModel):
    versions: list[VersionPublic]
    page: PagePublic


Metadata = TypeVar("Metadata", ModelCreate, VersionCreate)


def parse_metadata(schema: type[Metadata], raw: dict[str, Any] | None) -> Metadata:
    """Validate the `metadata` part; a problem is a 400 naming `metadata.<field>`."""
    if raw is None:
        raise InvalidInput("multipart part 'metadata' is missing")
    try:
        return schema.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(describe_validation_error(dict(item)) for item in error.errors())
        raise InvalidInput(f"metadata: {problems}") from None


def parse_model_filter(text: str | None) -> ModelFilter:
    """`filter`: a JSON object of name/type/description/author → a plain string or a `*`
    pattern, and `optionalParameters`: parameter name → pattern (or number), matched
    against the last version's `io.optionalParameters`, as the official client documents:
    `{"name": "model*", "optionalParameters": {"entityId": "64", "entityName": "*"}}`."""
    if text is None or not text.strip():
        return ModelFilter()
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter: longer than {MAX_FILTER_CHARS} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidInput(f"filter: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise InvalidInput('filter: must be a JSON object such as {"name": "model*"}')
    parameters = _optional_parameters(document.pop(OPTIONAL_PARAMETERS, {}))
    for field, value in document.items():
        if field not in FILTER_FIELDS:
            known = [*FILTER_FIELDS, OPTIONAL_PARAMETERS]
            raise InvalidInput(f"filter: {field!r} cannot be filtered; use {known}")
        if not isinstance(value, str):
            raise InvalidInput(f"filter: {field} must be a string")
        if len(value) > MAX_FILTER_VALUE_CHARS:
            raise InvalidInput(
                f"filter: {field} is longer than {MAX_FILTER_VALUE_CHARS} characters"
            )
    return ModelFilter(fields=document, optional_parameters=parameters)


OPTIONAL_PARAMETERS = "optionalParameters"
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _optional_parameters(value: Any) -> dict[str, str]:
    """The `optionalParameters` of a filter: word → pattern; a number stands for its text."""
    where = f"filter: {OPTIONAL_PARAMETERS}"
    if not isinstance(value, dict):
        raise InvalidInput(f'{where} must be an object such as {{"entityId": "64"}}')
    patterns: dict[str, str] = {}
    for name, pattern in value.items():
        if not _PARAMETER_NAME.fullmatch(name):
            raise InvalidInput(
                f"{where}: parameter names hold 1-64 letters, digits, '_', '.' or '-', "
                f"got {name[:70]!r}"
            )
        if isinstance(pattern, bool) or not isinstance(pattern, str | int | float):
            raise InvalidInput(f"{where}.{name} must be a string or a number")
        patterns[name] = str(pattern)
    return patterns


def model_filter_schema() -> dict[str, Any]:
    """The JSON schema of the model list's `filter` (see `parse_model_filter`)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{
                field: {"type": "string", "maxLength": MAX_FILTER_VALUE_CHARS}
                for field in FILTER_FIELDS
            },
            OPTIONAL_PARAMETERS: {
                "type": "object",
                "propertyNames": {"pattern": f"^{_PARAMETER_NAME.pattern}$"},
                "additionalProperties": {"type": ["string", "number"]},
            },
        },
        "description": "URL-encoded JSON; a value is a plain string or a pattern with `*`",
    }


# What `parse_sort` accepts: blank, or asc/desc in any case, optionally after `name,`.
SORT_PATTERN = r"^\s*(?:(?:[Nn][Aa][Mm][Ee],)?(?:[Aa][Ss][Cc]|[Dd][Ee][Ss][Cc]))?\s*$"


def parse_sort(text: str | None) -> bool:
    """`sort` by name: `asc` (the default) or `desc`; `name,asc` is accepted too. True = desc."""
    if text is None or not text.strip():
        return False
    direction = text.strip().lower().removeprefix("name,")
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"sort must be 'asc' or 'desc', got {text[:40]!r}")
    return direction == "desc"
