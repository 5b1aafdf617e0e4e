"""The `filter` query parameter of list calls, parsed once for every route."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Query

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import FieldSpec, Filter, FilterError, parse_filter


def filter_query(fields: Mapping[str, FieldSpec]) -> Callable[[str | None], Filter]:
    """A dependency: the `filter` parameter parsed over `fields`; a bad one answers 400."""

    def parsed(filter: Annotated[str | None, Query()] = None) -> Filter:
        try:
            return parse_filter(filter, fields)
        except FilterError as error:
            raise InvalidInput(str(error)) from None

    return parsed
