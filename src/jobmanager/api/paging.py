"""Paging shared by every list call: `pageNumber` / `pageSize` in, the page envelope out.

`pageNumber` is 0-based; `pageSize` defaults to 100 and is at most 100. A page past
the end is an empty list, not an error, and nothing matching is `totalPages: 0`
(the official client asks for pages 0..totalPages inclusive).

Every list has one signature. A route takes `page: PageDep` (and its area's filter
dependency), calls its repository's `list_page(tenant_id, offset=page.offset,
limit=page.size, flt=flt)` (or `list_<things>` for what belongs to one resource), which
answers the records of the page and the total count, and returns `envelope("jobs",
[JobPublic.of(r) for r in records], page, total)`: the official client's `{jobs, page}`
and the Spring page fields in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    """Which page a caller asked for."""

    number: int = 0
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return self.number * self.size


def page_request(
    page_number: Annotated[int, Query(alias="pageNumber", ge=0, le=MAX_PAGE_NUMBER)] = 0,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> PageRequest:
    """FastAPI dependency: the page a list call asks for (a bad value answers 400 naming
    the parameter, and the OpenAPI document says which values are good)."""
    return PageRequest(number=page_number, size=page_size)


PageDep = Annotated[PageRequest, Depends(page_request)]


def page_info(page: PageRequest, total: int) -> dict[str, int]:
    """The `page` object: `{number, size, totalPages, totalElements}`."""
    return {
        "number": page.number,
        "size": page.size,
        "totalPages": total_pages(page.size, total),
        "totalElements": total,
    }


def total_pages(size: int, total: int) -> int:
    return -(-total // size)


def envelope(name: str, items: list[Any], page: PageRequest, total: int) -> dict[str, Any]:
    """A list answer: `{content, <name>, page}` plus the Spring page fields, in one body."""
    info = page_info(page, total)
    return {
        "content": items,
        name: items,
        "page": info,
        **spring_fields(page, total, len(items)),
    }


def spring_fields(page: PageRequest, total: int, count: int) -> dict[str, Any]:
    """The Spring `Page` fields beside `page`, for callers that read the documented shape."""
    pages = total_pages(page.size, total)
    return {
        "totalPages": pages,
        "totalElements": total,
        "last": page.number >= pages - 1,
        "first": page.number == 0,
        "size": page.size,
        "number": page.number,
        "numberOfElements": count,
        "sort": None,
    }
