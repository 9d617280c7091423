"""Domain errors of the API and the ONE mapper from any exception to an error envelope.

`ApiError` subclasses are what services raise. `error_for(exc)` turns anything (our errors, Litestar's own
HTTP exceptions such as validation errors, 404 on an unknown route or 405, and unexpected exceptions)
into a status code and an `ErrorBody`; `handle_exception` is the Litestar exception handler built on it.
Unexpected exceptions become INTERNAL_ERROR 500: logged with their traceback, never echoed in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from api.envelope import ErrorBody, ErrorCode, ErrorEnvelope
from api.security_events import EVENTS
from api.typed_paths import mistyped

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API reports to the caller as is: code, HTTP status, message and details."""

    status_code: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidRequest(ApiError):
    status_code = 400
    code = ErrorCode.INVALID_REQUEST


class NotFound(ApiError):
    status_code = 404
    code = ErrorCode.NOT_FOUND


class Unauthorized(ApiError):
    """Missing, malformed, unknown, expired or revoked credentials: 401 UNAUTHORIZED."""

    status_code = 401
    code = ErrorCode.UNAUTHORIZED


class Forbidden(ApiError):
    """Valid credentials without the permission the endpoint needs: 403 FORBIDDEN."""

    status_code = 403
    code = ErrorCode.FORBIDDEN


class RateLimited(ApiError):
    """Over the caller's tier limit: 429 RATE_LIMITED (the middleware adds `Retry-After`)."""

    status_code = 429
    code = ErrorCode.RATE_LIMITED


class Maintenance(ApiError):
    """Maintenance mode is on and the request writes: 503 MAINTENANCE."""

    status_code = 503
    code = ErrorCode.MAINTENANCE


class Unavailable(ApiError):
    """A dependency the API needs is down (health check failed): 503, INTERNAL_ERROR."""

    status_code = 503
    code = ErrorCode.INTERNAL_ERROR


_CODE_BY_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.MAINTENANCE,
}


def error_for(exc: Exception, path: str = "") -> tuple[int, ErrorBody]:
    """The HTTP status and error body for any exception (the single domain-error -> HTTP mapping)."""
    if isinstance(exc, ApiError):
        return exc.status_code, ErrorBody(code=exc.code, message=exc.message, details=exc.details)
    if isinstance(exc, NotFoundException) and (wrong := mistyped(path)):
        return 400, ErrorBody(code=ErrorCode.INVALID_REQUEST, message=f"{', '.join(wrong)} must be an integer",
                              details={"path": path, "parameters": wrong})
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        code = _CODE_BY_STATUS.get(status, ErrorCode.INVALID_REQUEST)  # 405, 413, 415, ...: a bad request
        details: dict[str, Any] = {"path": path} if path else {}
        if isinstance(exc, ValidationException) and exc.extra:
            details["errors"] = exc.extra
        return status, ErrorBody(code=code, message=str(exc.detail), details=details)
    if isinstance(exc, HTTPException) and exc.status_code == 503:
        return 503, ErrorBody(code=ErrorCode.MAINTENANCE, message=str(exc.detail))
    return 500, ErrorBody(
        code=ErrorCode.INTERNAL_ERROR, message="internal error; the server log has the details"
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorEnvelope]:
    """Litestar exception handler registered for `Exception`: every error leaves in the envelope."""
    status, body = error_for(exc, request.url.path)
    if status == 400:
        EVENTS.record("malformed")
    if status >= 500 and not isinstance(exc, ApiError):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = exc.headers if isinstance(exc, HTTPException) and exc.headers else None
    return Response(ErrorEnvelope(error=body), status_code=status, headers=headers)
