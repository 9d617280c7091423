"""Seed 003's paging: `?page=` (from 0) and `?size=` (1..100, default 20); answers are
`PageResponse{content, page{number, size, totalElements, totalPages}}`.

What the other rewards modules rely on: a handler parameter `page_query: PageQuery` (the router provides it;
out-of-range values are 400 problems) and `PageResponse.of(items, page_query, total)`.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

T = TypeVar("T")
MAX_SIZE = 100
DEFAULT_SIZE = 20


class PageQuery(msgspec.Struct, frozen=True):
    number: int = 0
    size: int = DEFAULT_SIZE

    @property
    def offset(self) -> int:
        return self.number * self.size


class Page(msgspec.Struct, frozen=True, rename="camel"):
    number: int
    size: int
    total_elements: int
    total_pages: int


class PageResponse(msgspec.Struct, Generic[T], frozen=True):
    content: list[T]
    page: Page

    @classmethod
    def of(cls, items: list[T], query: PageQuery, total: int) -> PageResponse[T]:
        pages = (total + query.size - 1) // query.size
        return cls(content=items, page=Page(query.number, query.size, total, pages))


def provide_page_query(
    page: Annotated[int, Parameter(ge=0, le=1_000_000, description="page number, from 0")] = 0,
    size: Annotated[int, Parameter(ge=1, le=MAX_SIZE, description="items per page, 1..100")] = DEFAULT_SIZE,
) -> PageQuery:
    return PageQuery(page, size)
