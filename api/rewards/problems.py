"""RFC 7807 problem details for the rewards resource (seed 003): every error under `/api/v1/rewards` leaves as
`application/problem+json` `{type, title, status, detail, instance, code, timestamp}` (+ `errors` for a
malformed request), never in the pool API's envelope.

What the other rewards modules rely on: raise `RewardError(RewardCode.X, "detail")` for the seed's codes
(REWARD_001..007 with the seed's statuses); the usual `api.errors` exceptions (InvalidRequest, NotFound,
Unauthorized, ...) and Litestar's validation errors are mapped too, with their pool codes (INVALID_REQUEST, ...),
except that FORBIDDEN (403) inside the rewards resource is the seed's REWARD_004. Unexpected exceptions are
500 INTERNAL_ERROR: logged with the traceback, never echoed. `problem_handler(clock)` is the router's handler;
`problem_bytes` serves middleware (the rate limiter); `PROBLEMS` documents them (`responses=PROBLEMS`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec

from api.errors import ApiError, Forbidden, error_for
from schemas.clock import Clock
from schemas.sfr import RewardCode

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:poolstream:problem:"


class RewardError(Exception):
    """An error with one of the seed's codes; `extra` members are added to the problem body."""

    def __init__(self, code: RewardCode, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    timestamp: dt.datetime
    errors: list[Any] | None = None
    details: dict[str, Any] | None = None


def problem_of(exc: Exception, instance: str, now: dt.datetime) -> Problem:
    """The problem body of any exception raised inside the rewards resource."""
    if isinstance(exc, RewardError):
        return Problem(TYPE_PREFIX + exc.code, exc.code.problem_title, exc.code.status, exc.detail, instance, exc.code,
                       now, details=exc.extra or None)
    if isinstance(exc, Forbidden):
        code = RewardCode.NOT_PERMITTED
        return Problem(TYPE_PREFIX + code, code.problem_title, 403, exc.message, instance, code, now,
                       details=exc.details or None)
    status, body = error_for(exc, instance)
    errors = exc.extra if isinstance(exc, ValidationException) and isinstance(exc.extra, list) else None
    details = exc.details if isinstance(exc, ApiError) and exc.details else None
    title = body.code.replace("_", " ").capitalize()
    return Problem(TYPE_PREFIX + body.code, title, status, body.message, instance, body.code, now, errors, details)


_ENCODER = msgspec.json.Encoder()

#: every rewards handler's `responses=`: the problem statuses, documented as application/problem+json
PROBLEMS: dict[int, ResponseSpec] = {
    status: ResponseSpec(Problem, description=text, media_type=MEDIA_TYPE, generate_examples=False)
    for status, text in ((400, "malformed request, REWARD_003 or REWARD_005"), (401, "no or bad credentials"),
                         (403, "REWARD_004: the role does not allow it"), (404, "REWARD_001: not found"),
                         (409, "REWARD_006: already calculated"), (429, "over the role's rate limit"),
                         (500, "REWARD_002, REWARD_007 or an internal error"))
}


def problem_bytes(problem: Problem) -> bytes:
    return _ENCODER.encode(problem)


def problem_handler(clock: Clock) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """The rewards router's exception handler (for `Exception`)."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        problem = problem_of(exc, request.url.path, clock.now())
        if problem.status >= 500 and not isinstance(exc, ApiError | RewardError):
            log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        headers = getattr(exc, "headers", None) or None
        return Response(problem_bytes(problem), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers)

    return handle
