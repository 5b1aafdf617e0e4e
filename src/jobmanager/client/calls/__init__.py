"""The API calls, one module per service area; each function returns a `Call`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

DEFAULT_PAGE_SIZE = 100
FilterArgument = Mapping[str, Any] | str | None
"""A list filter as a caller gives it: a dict, or JSON text already."""


def segment(value: str) -> str:
    """An id as one URL path segment (so `a/b` cannot reach another route)."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def page_params(page_number: int, page_size: int, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"pageNumber": page_number, "pageSize": page_size}
    params.update({name: value for name, value in extra.items() if value is not None})
    return params


def filter_text(value: FilterArgument) -> str | None:
    """A list filter as the API wants it: JSON text (given as a dict or already as text)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def given(**fields: Any) -> dict[str, Any]:
    """The fields that are not None: what a create or PATCH body sends."""
    return {name: value for name, value in fields.items() if value is not None}
