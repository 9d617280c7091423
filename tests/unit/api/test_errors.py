"""Every error path leaves in the seed envelope, with the right code and status and no stack trace."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import ValidationException
from litestar.testing import TestClient

from api.envelope import ErrorCode
from api.errors import NotFound, error_for


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]  # type: ignore[no-any-return]


def test_bad_address_is_invalid_request(client: TestClient[Any]) -> None:
    for bad in ("short", "x" * 101, "bc1q-has-a-dash-0000000000", "a" * 19):
        error = assert_error(client.get(f"/api/v1/miners/{bad}"), 400, "INVALID_REQUEST")
        assert "20-100" in error["message"]
    assert_error(client.get("/api/v1/miners/" + "%C3%A9" * 25 + "/workers"), 400, "INVALID_REQUEST")


def test_unknown_route_is_not_found(client: TestClient[Any]) -> None:
    error = assert_error(client.get("/api/v1/nope"), 404, "NOT_FOUND")
    assert error["details"]["path"] == "/api/v1/nope"


def test_wrong_method_is_invalid_request_405(client: TestClient[Any]) -> None:
    assert_error(client.post("/api/v1/stats"), 405, "INVALID_REQUEST")


def test_failing_handler_is_internal_error_without_traceback(client: TestClient[Any]) -> None:
    response = client.get("/api/v1/stats")  # the fake ClickHouse client raises
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert error["details"] == {}
    assert "Traceback" not in response.text and "boom" not in response.text and "secret" not in response.text


def test_validation_errors_map_to_invalid_request_with_details() -> None:
    status, body = error_for(ValidationException("Validation failed", extra=[{"key": "limit"}]), "/x")
    assert (status, body.code) == (400, ErrorCode.INVALID_REQUEST)
    assert body.details == {"path": "/x", "errors": [{"key": "limit"}]}


def test_domain_errors_keep_their_message_and_details() -> None:
    status, body = error_for(NotFound("no shares from miner X", details={"address": "X"}))
    assert (status, body.code, body.message, body.details) == (
        404,
        ErrorCode.NOT_FOUND,
        "no shares from miner X",
        {"address": "X"},
    )


def test_unexpected_exception_hides_its_message() -> None:
    status, body = error_for(ZeroDivisionError("internal detail"))
    assert (status, body.code) == (500, ErrorCode.INTERNAL_ERROR)
    assert "internal detail" not in body.message


def test_unexpected_errors_are_logged(client: TestClient[Any], caplog: Any) -> None:
    with caplog.at_level("ERROR", logger="api.errors"):
        client.get("/api/v1/algorithms")
    assert any(r.name == "api.errors" and r.exc_info for r in caplog.records)
