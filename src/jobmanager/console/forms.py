"""What the resource pages share: a form's fields checked by the API's own body schema,
the pager of their lists, the names of what a job or a schedule refers to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from jobmanager.api.errors import describe_validation_error
from jobmanager.api.paging import PageRequest, total_pages
from jobmanager.domain.errors import InvalidInput, NotFound
from jobmanager.store.store import Store

Body = TypeVar("Body", bound=BaseModel)


def api_body(schema: type[Body], **fields: Any) -> Body:
    """The API's request body from a form's fields, so the API's checks apply; a field
    that fails answers 400 with the API's words, which name the field."""
    try:
        return schema.model_validate(fields)
    except ValidationError as error:
        words = "; ".join(describe_validation_error(item) for item in error.errors())
        raise InvalidInput(words) from None


def lines(text: str) -> list[str]:
    """A textarea's non-blank lines, trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Pager:
    """Where a list is: its page (0-based), how many pages, and the link to another."""

    number: int
    pages: int
    total: int
    base: str

    @classmethod
    def of(cls, page: PageRequest, total: int, base: str) -> Pager:
        return cls(page.number, total_pages(page.size, total), total, base)

    def url(self, number: int) -> str:
        joiner = "&" if "?" in self.base else "?"
        return f"{self.base}{joiner}pageNumber={number}"


def number(text: str, field: str) -> int | float | None:
    """A number field of a form: blank is None, `2` an int, `0.5` a float."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text[:40]!r} is not a number") from None


def json_object(text: str, field: str) -> dict[str, Any]:
    """A textarea holding a JSON object (blank: none)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"{field}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise InvalidInput(f'{field}: must be a JSON object, e.g. {{"threshold": 70}}')
    return value


def prefixed_fields(form: FormData, prefix: str) -> dict[str, str]:
    """The form's text fields whose names start with `prefix`, without it."""
    return {
        name[len(prefix) :]: value
        for name, value in form.multi_items()
        if name.startswith(prefix) and isinstance(value, str)
    }


class References(Protocol):
    """What a job or a schedule refers to, by id."""

    @property
    def model_id(self) -> str: ...
    @property
    def configuration_id(self) -> str: ...
    @property
    def input_folder_id(self) -> str: ...
    @property
    def output_folder_id(self) -> str: ...


def reference_names(store: Store, tenant_id: str, record: References) -> dict[str, str]:
    """What the record's ids name: the model, the configuration, the folders' paths (an
    id that no longer resolves is shown as it is)."""
    folders = {folder_id: path for path, folder_id in store.dataexchange.list_folders(tenant_id)}
    names = {
        record.input_folder_id: folders.get(record.input_folder_id, record.input_folder_id),
        record.output_folder_id: folders.get(record.output_folder_id, record.output_folder_id),
    }
    for key, lookup in (
        (record.model_id, store.models.get),
        (record.configuration_id, store.configurations.get),
    ):
        try:
            names[key] = lookup(tenant_id, key).name
        except NotFound:
            names[key] = key
    return names
