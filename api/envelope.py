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


class ErrorCode(enum.StrEnum):
    """The only error codes the API answers with."""

    INVALID_REQUEST = "INVALID_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    MAINTENANCE = "MAINTENANCE"


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    timestamp: dt.datetime  # when the answer was computed, UTC (the injected clock)
    version: str  # ApiSettings.version


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
