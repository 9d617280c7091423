"""The response envelope every `/api/v1` endpoint uses (ARCHITECTURE.md, "API conventions").

Success: `{"success": true, "data": ..., "meta": {"timestamp": ..., "version": ...}}`.
Error:   `{"success": false, "error": {"code": ..., "message": ..., "details": {...}}}`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

#: The API version every answer's `meta.version` carries (seed 001: "1.0"); the package version is separate.
API_VERSION = "1.0"


class ErrorCode(enum.StrEnum):
    """The only error codes the API answers with."""

    INVALID_REQUEST = "INVALID_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    MAINTENANCE = "MAINTENANCE"


class Meta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`timestamp` and `version` always; `page`, `limit`, `total`, `total_pages` on paged lists (seed 001)."""

    timestamp: dt.datetime  # when the answer was computed, UTC (the injected clock)
    version: str  # API_VERSION
    page: int | None = None
    limit: int | None = None
    total: int | None = None
    total_pages: int | None = None

    def paged(self, paging: Paging, total: int) -> Meta:
        """This meta with the page fields of a list of `total` items read with `paging`."""
        pages = (total + paging.limit - 1) // paging.limit
        return msgspec.structs.replace(self, page=paging.page, limit=paging.limit, total=total, total_pages=pages)


class Paging(msgspec.Struct, frozen=True, kw_only=True):
    """`?page=` (from 1) and `?limit=` (1..100, default 50) of a paged list (seed 001)."""

    page: int = 1
    limit: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class Envelope(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A successful answer: `data` is the resource, `meta` says when and from which version."""

    success: bool = True
    data: T
    meta: Meta


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    code: ErrorCode
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class ErrorEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """A failed answer. Never carries a stack trace."""

    success: bool = False
    error: ErrorBody
