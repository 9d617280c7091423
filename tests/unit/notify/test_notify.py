"""notify/: the webhook signature against an independent HMAC, the outbox's backoff and state changes, the
bodies, and which devices' preferences want which event."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from hypothesis import given
from hypothesis import strategies as st

from notify.bodies import Device, push_body, webhook_body
from notify.outbox import DELIVERED, FAILED, PENDING, Backoff, delivery_id, new_delivery
from notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, signed_headers, verify
from schemas.alerts import ALERT_OPENED
from schemas.notifications import (
    BLOCK_FOUND,
    PAYMENT_SENT,
    Preferences,
    preferences_of,
    wants_alert,
    wants_event,
)

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@given(st.text(min_size=1), st.integers(min_value=0, max_value=2**40), st.binary())
def test_signature_is_hmac_sha256_of_timestamp_dot_body(secret: str, ts: int, body: bytes) -> None:
    expected = hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
    assert signature(secret, ts, body) == "sha256=" + expected
    assert verify(secret, str(ts), body, "sha256=" + expected)
    assert not verify(secret, str(ts + 1), body, "sha256=" + expected)
    assert not verify(secret + "x", str(ts), body, "sha256=" + expected)


def test_headers_carry_timestamp_and_signature_only_with_a_secret() -> None:
    h = signed_headers("s3cret", 1700000000, b"{}")
    assert h[TIMESTAMP_HEADER] == "1700000000" and h[SIGNATURE_HEADER].startswith("sha256=")
    assert SIGNATURE_HEADER not in signed_headers("", 1700000000, b"{}")
    assert not verify("s", "not-a-number", b"{}", h[SIGNATURE_HEADER])


def test_backoff_doubles_up_to_the_cap_then_fails() -> None:
    b = Backoff(base_s=2, cap_s=30, max_attempts=6)
    assert [b.delay_s(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    d = new_delivery("a1:alert.opened", ALERT_OPENED, "webhook", "http://x/hook", "{}", NOW)
    assert (d.state, d.attempts, d.next_attempt_at) == (PENDING, 0, NOW)
    at = NOW
    for n in range(1, 6):
        at += dt.timedelta(seconds=1)
        d = d.after_attempt(500, "HTTP 500", at, b)
        assert d.state == PENDING and d.attempts == n and d.next_attempt_at == at + dt.timedelta(seconds=b.delay_s(n))
        assert d.updated_at == at and d.last_status == 500
    failed = d.after_attempt(0, "ConnectError", at, b)  # same instant: the version still moves on
    assert failed.state == FAILED and failed.attempts == 6 and failed.updated_at > d.updated_at
    ok = new_delivery("k", ALERT_OPENED, "webhook", "http://x", "{}", NOW).after_attempt(204, "", NOW, b)
    assert ok.state == DELIVERED and ok.attempts == 1


def test_delivery_id_is_per_event_and_target() -> None:
    assert delivery_id("e", "http://a") == delivery_id("e", "http://a")
    assert len({delivery_id("e", "http://a"), delivery_id("e", "http://b"), delivery_id("f", "http://a")}) == 3


def test_bodies() -> None:
    assert json.loads(webhook_body(ALERT_OPENED, {"id": "x"})) == {"event": "alert.opened", "alert": {"id": "x"}}
    push = json.loads(push_body(BLOCK_FOUND, [Device("t2", "ios"), Device("t1", "android")], "T", "B", {"h": 1}))
    assert push["devices"] == [{"token": "t1", "platform": "android"}, {"token": "t2", "platform": "ios"}]
    assert push["notification"] == {"title": "T", "body": "B"} and push["data"] == {"event": BLOCK_FOUND, "h": 1}


def test_preferences_select_events() -> None:
    p = Preferences()  # defaults: every alert, payments, no blocks, drops of 20% or more
    assert wants_alert(p, "worker_offline", 900) and wants_alert(p, "over_temperature", 90)
    assert wants_alert(p, "hashrate_drop", 35) and not wants_alert(p, "hashrate_drop", 15)
    assert wants_event(p, PAYMENT_SENT) and not wants_event(p, BLOCK_FOUND)
    q = preferences_of([0, 1, 1, 1, 50.0, 1, 0, 1])
    assert not wants_alert(q, "worker_offline", 900) and not wants_alert(q, "fan_failure", 0)
    assert not wants_alert(q, "hashrate_drop", 35) and wants_alert(q, "hashrate_drop", 55)
    assert wants_event(q, BLOCK_FOUND) and not wants_alert(q, "unknown_kind", 1)
