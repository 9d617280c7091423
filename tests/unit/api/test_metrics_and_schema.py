"""/metrics exposes the API latency histogram; /schema serves the generated, typed OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_metrics_has_request_latency_after_a_request(client: TestClient[Any]) -> None:
    client.get("/api/v1/admin/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE poolstream_api_request_seconds histogram" in text
    assert (
        'poolstream_api_request_seconds_count{method="GET",route="/api/v1/admin/health",status="200"}' in text
    )
    assert 'poolstream_api_requests_total{method="GET",route="/api/v1/admin/health",status="200"}' in text


def test_openapi_lists_the_routes_with_typed_responses(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    reads = {  # the other resources' own tests check theirs
        "/api/v1/stats",
        "/api/v1/algorithms",
        "/api/v1/miners/{address}",
        "/api/v1/miners/{address}/workers",
        "/api/v1/miners/{address}/payments",
        "/api/v1/blocks",
        "/api/v1/monitoring/hardware",
        "/api/v1/admin/health",
    }
    assert set(schema["paths"]) >= reads
    for path in reads:
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ok.startswith("#/components/schemas/Envelope")
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    assert client.get("/schema/swagger").status_code == 200
