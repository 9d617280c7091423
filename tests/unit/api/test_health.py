"""GET /api/v1/admin/health with a fake probe: 200 + report when ok, 503 INTERNAL_ERROR + report when not."""

from __future__ import annotations

from tests.unit.api.conftest import FakeProbe, make_client, report


def test_healthy_is_200_with_the_report() -> None:
    with make_client(FakeProbe(report())) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["meta"] == {"timestamp": "2025-03-01T12:00:20Z", "version": "9.9.9"}
    assert body["data"]["ok"] is True
    assert body["data"]["consumer_lag"] == [{"topic": "shares", "lag": 7, "error": None}]


def test_unhealthy_is_503_with_the_report_in_details() -> None:
    with make_client(FakeProbe(report(kafka_ok=False))) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert error["message"] == "unhealthy: kafka down"
    assert error["details"]["report"]["kafka"] == {
        "ok": False,
        "latency_ms": 1.5,
        "error": "connection refused",
    }


def test_a_probe_that_raises_is_internal_error() -> None:
    with make_client(FakeProbe(error=RuntimeError("probe crashed"))) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "probe crashed" not in response.text
