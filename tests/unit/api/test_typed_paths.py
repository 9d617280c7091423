"""A wrong type in a typed path segment is INVALID_REQUEST naming the parameter; an unknown path stays 404."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_non_integer_ids_are_invalid_requests(client: TestClient[Any]) -> None:
    for path, names in (("/api/v1/workers/abc", ["worker_id"]), ("/api/v1/participants/1.5", ["participant_id"]),
                        ("/api/v1/workers/7/commands/x/ack", ["command_id"])):
        response = client.request("POST" if path.endswith("ack") else "GET", path)
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST" and error["details"]["parameters"] == names
    missing = client.get("/api/v1/no/such/thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
