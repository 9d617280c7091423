"""Thin per-resource controllers: parse the request, call a service, wrap the answer in the envelope."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from api.envelope import ErrorEnvelope

#: Error answers every controller documents in the OpenAPI schema.
ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: ResponseSpec(ErrorEnvelope, description="INVALID_REQUEST: the request is not well-formed"),
    500: ResponseSpec(ErrorEnvelope, description="INTERNAL_ERROR: the server failed; see its log"),
}
NOT_FOUND_RESPONSE: dict[int, ResponseSpec] = {
    404: ResponseSpec(ErrorEnvelope, description="NOT_FOUND: no such resource"),
}
