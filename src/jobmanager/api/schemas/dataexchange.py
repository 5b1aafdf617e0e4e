"""Bodies of `/api/dataexchange/v3` (SPEC §3): files, directories and their listings."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from jobmanager.api.errors import describe_validation_error
from jobmanager.api.paging import PageRequest, page_info, spring_fields
from jobmanager.api.schemas import timestamp
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.names import MAX_NAME_BYTES, entry_name_pattern
from jobmanager.store.dataexchange import DirectoryRecord, Entry, FileRecord

MAX_TYPE_CHARS = 255
MAX_ID_CHARS = 64


def _entry_name(schema: dict[str, Any]) -> None:
    """Data Exchange's name rules in the document (the store checks them, with better
    messages than a failed pattern's)."""
    schema.update(pattern=entry_name_pattern(), minLength=1, maxLength=MAX_NAME_BYTES)


class DirectoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(strict=True, json_schema_extra=_entry_name)
    parentId: str = Field(strict=True, max_length=MAX_ID_CHARS)


def _media_type(value: str | bool | None) -> str | bool | None:
    """A media type as callers send it: text, or `false` (the official client's "unknown")."""
    if value is True:
        raise ValueError("must be a media type such as 'text/csv' (or false)")
    if isinstance(value, str) and len(value) > MAX_TYPE_CHARS:
        raise ValueError(f"longer than {MAX_TYPE_CHARS} characters")
    return value


def _patch_type_schema(schema: dict[str, Any]) -> None:
    """What `EntryChange._type` accepts: a media type or `false` (never `true`, nor null)."""
    schema.clear()
    schema["anyOf"] = [{"type": "string", "maxLength": MAX_TYPE_CHARS}, {"const": False}]


class EntryChange(BaseModel):
    """A PATCH of properties, the official SDK's `ResourcePatch`: a new `name`, a new
    `parentId` (a move), and for a file a new media `type`. A folder has no type: its
    `type` is accepted and ignored; `type: false` (no known type) keeps a file's."""

    model_config = ConfigDict(extra="forbid")

    # Null is refused (`_not_null`): the document offers only leaving a field out.
    name: StrictStr | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_entry_name)
    parentId: Annotated[StrictStr, Field(max_length=MAX_ID_CHARS)] | SkipJsonSchema[None] = None
    type: StrictStr | bool | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_patch_type_schema
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value

    _type = field_validator("type")(_media_type)

    @property
    def media_type(self) -> str | None:
        """The file's new media type, or None to keep it."""
        return self.type if isinstance(self.type, str) else None


def _type_schema(schema: dict[str, Any]) -> None:
    """What `FileMetadata._type` accepts: a media type, `false` or null (never `true`)."""
    schema.clear()
    string = {"type": "string", "maxLength": MAX_TYPE_CHARS}
    schema["anyOf"] = [string, {"const": False}, {"type": "null"}]


class FileMetadata(BaseModel):
    """The `metadata` part of an upload. The official client sends `type: false` when
    it cannot guess a media type: that, like null or a missing type, means none."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, strict=True, json_schema_extra=_entry_name)
    parentId: str = Field(strict=True, max_length=MAX_ID_CHARS)
    type: str | bool | None = Field(default=None, json_schema_extra=_type_schema)

    _type = field_validator("type")(_media_type)

    @property
    def media_type(self) -> str:
        return self.type if isinstance(self.type, str) else ""


def file_metadata(document: dict[str, Any] | None, filename: str) -> tuple[FileMetadata, str]:
    """The upload's metadata and the file's name (metadata `name`, else the part's filename)."""
    if document is None:
        raise InvalidInput("multipart part 'metadata' is missing: send {name, parentId, type}")
    try:
        metadata = FileMetadata.model_validate(document)
    except ValidationError as error:
        details = "; ".join(
            f"metadata.{describe_validation_error(dict(e))}" for e in error.errors()
        )
        raise InvalidInput(details) from None
    name = metadata.name if metadata.name is not None else filename
    return metadata, name


class FilePublic(BaseModel):
    id: str
    parentId: str
    name: str
    type: str
    sizeInBytes: int
    modifiedDate: str
    modifiedBy: str

    @classmethod
    def of(cls, record: FileRecord) -> FilePublic:
        return cls(
            id=record.id,
            parentId=record.parent_id,
            name=record.name,
            type=record.type,
            sizeInBytes=record.size_in_bytes,
            modifiedDate=timestamp(record.modified_date),
            modifiedBy=record.modified_by,
        )


class DirectoryPublic(BaseModel):
    id: str
    name: str
    parentId: str
    modifiedDate: str
    modifiedBy: str

    @classmethod
    def of(cls, record: DirectoryRecord) -> DirectoryPublic:
        return cls(
            id=record.id,
            name=record.name,
            parentId=record.parent_id,
            modifiedDate=timestamp(record.modified_date),
            modifiedBy=record.modified_by,
        )


class DirectoryContentPublic(BaseModel):
    """A folder's page: `{files, directories, page}` and the Spring page fields beside."""

    model_config = ConfigDict(extra="allow")

    files: list[FilePublic]
    directories: list[DirectoryPublic]
    page: dict[str, int]

    @classmethod
    def of(cls, entries: list[Entry], page: PageRequest, total: int) -> DirectoryContentPublic:
        return cls(
            files=[FilePublic.of(e) for e in entries if isinstance(e, FileRecord)],
            directories=[DirectoryPublic.of(e) for e in entries if isinstance(e, DirectoryRecord)],
            page=page_info(page, total),
            **spring_fields(page, total, len(entries)),
        )


# The answer of a download: the file's bytes, under its own media type. Any bytes: no
# schema (OpenAPI 3.1's way for binary content), since a JSON file is bytes here too.
FILE_BYTES = {
    "description": "The file's bytes, with its media type",
    "content": {"*/*": {}},
}


def download_headers(name: str, size: int) -> dict[str, str]:
    """Length and a `Content-Disposition` carrying the name, non-ASCII names per RFC 6266."""
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return {"Content-Length": str(size), "Content-Disposition": disposition}


def download_media_type(stored: str) -> str:
    """The stored media type, if it is one that can go in a header."""
    kind = stored.strip()
    return (
        kind
        if "/" in kind and "\n" not in kind and "\r" not in kind
        else "application/octet-stream"
    )
