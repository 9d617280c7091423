"""GET /api/v1/admin/health with a fake probe: 200 + report when ok, 503 INTERNAL_ERROR + report when not;
and when an agent counts as unwell (dead, failing, stalled)."""

from __future__ import annotations

from api.health import AgentHealth, HealthReport, agent_health
from tests.unit.api.conftest import FakeProbe, make_client, report


def test_healthy_is_200_with_the_report() -> None:
    with make_client(FakeProbe(report())) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["meta"] == {"timestamp": "2025-03-01T12:00:20Z", "version": "1.0"}  # API_VERSION
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


class Agent:
    """An agent as the probe sees it (`api.health.AgentView`)."""

    def __init__(self, state: str = "running", reason: str | None = None, idle: float = 0.0) -> None:
        self.name, self.topic = "shares", "t.shares"
        self.state, self.reason, self.seconds_since_progress = state, reason, idle


def test_agent_health_dead_failing_stalled_or_well() -> None:
    dead = agent_health(Agent("dead", "KafkaException: MSG_SIZE_TOO_LARGE"), lag=0, stall_after_s=30)
    assert not dead.ok and dead.error == "dead: KafkaException: MSG_SIZE_TOO_LARGE"
    failing = agent_health(Agent("failing", "write: OSError: disk full"), lag=None, stall_after_s=30)
    assert not failing.ok and failing.error == "failing: write: OSError: disk full"
    stalled = agent_health(Agent(idle=45.0), lag=12, stall_after_s=30)
    assert not stalled.ok and stalled.error == "stalled: no batch completed for 45s while 12 message(s) wait on t.shares"
    assert agent_health(Agent(idle=45.0), lag=0, stall_after_s=30).ok  # idle because nothing waits
    assert agent_health(Agent(idle=45.0), lag=None, stall_after_s=30).ok  # lag unknown: not judged
    assert agent_health(Agent(idle=5.0), lag=12, stall_after_s=30).ok
    assert agent_health(Agent("starting", idle=5.0), lag=12, stall_after_s=30).ok


def test_an_unwell_agent_is_503_with_its_reason() -> None:
    unwell = AgentHealth(name="shares", ok=False, state="dead", seconds_since_progress=3.0,
                         error="dead: KafkaException: MSG_SIZE_TOO_LARGE")
    base = report()
    with make_client(FakeProbe(HealthReport(ok=False, kafka=base.kafka, clickhouse=base.clickhouse,
                                            consumer_lag=base.consumer_lag, agents=[unwell]))) as client:
        response = client.get("/api/v1/admin/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["message"] == "unhealthy: agent shares dead: KafkaException: MSG_SIZE_TOO_LARGE"
    assert error["details"]["report"]["agents"][0]["state"] == "dead"
