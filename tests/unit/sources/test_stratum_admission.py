"""Admission on its own (no sockets): connection limits in total and per IP, eviction of connections not
authorized yet, the connect rate, login timeouts, strikes, bans on the invalid ratio, and the end of a ban,
with a fake clock and fake connections."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import pytest

from sources.stratum import metrics
from sources.stratum.admission import CLOSE_BATCH, Admission, ip_key
from sources.stratum.settings import StratumSettings


class FakeConnection:
    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.closed = False
        self.closing = False
        self.said = ""

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def shut(self, message: str) -> None:
        if not self.closed:
            self.said = message
            self.closed = True


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admission(**overrides: object) -> tuple[Admission, FakeTime]:
    clock = FakeTime()
    return Admission(dataclasses.replace(StratumSettings(), **overrides), clock), clock


def test_limits_in_total_and_per_ip() -> None:
    adm, _ = admission(max_connections=3, max_connections_per_ip=2)
    a1, a2, a3, b1, c1 = (FakeConnection(ip) for ip in ("a", "a", "a", "b", "c"))
    assert adm.admit(a1) and adm.admit(a2)
    assert not adm.admit(a3)  # third from one IP
    assert adm.admit(b1)
    for c in (a1, a2, b1):
        adm.authorized(c)
    assert not adm.admit(c1)  # total reached, every connection authorized: refused
    adm.release(a1)
    adm.release(a1)  # idempotent
    assert adm.count == 2 and adm.admit(c1)
    adm.closing = True
    assert not adm.admit(FakeConnection("d"))


def test_a_full_gateway_evicts_the_oldest_connection_not_authorized() -> None:
    adm, clock = admission(max_connections=3)
    miner, idle1, idle2 = FakeConnection("m"), FakeConnection("x1"), FakeConnection("x2")
    assert adm.admit(miner) and adm.admit(idle1)
    adm.authorized(miner)
    clock.now += 1
    assert adm.admit(idle2)
    newcomer = FakeConnection("n")
    assert adm.admit(newcomer)  # full: idle1, the oldest not authorized, made room
    assert idle1.closed and not idle2.closed and not miner.closed
    assert adm.count == 3 and adm.pending == 2


def test_precheck_connect_rate_per_ip_after_a_burst() -> None:
    adm, clock = admission(max_connections_per_ip=4, connect_rate_per_ip=2.0, ban_strikes=100)
    for _ in range(4):  # the burst
        assert adm.precheck("a") is None
    assert adm.precheck("a") == "connect_rate"  # connecting too fast
    assert adm.precheck("b") is None  # another IP is not concerned
    clock.now += 0.5  # one token back
    assert adm.precheck("a") is None
    assert adm.precheck("a") == "connect_rate"


def test_precheck_refuses_banned_and_full_addresses() -> None:
    adm, clock = admission(max_connections_per_ip=2, ban_strikes=1)
    a1, a2 = FakeConnection("a"), FakeConnection("a")
    assert adm.precheck("a") is None and adm.admit(a1) and adm.precheck("a") is None and adm.admit(a2)
    clock.now += 1  # tokens back: the connection limit answers
    assert adm.precheck("a") == "max_connections_per_ip"
    adm.strike("a", "line_too_long")
    adm.strike("a", "line_too_long")  # more than one strike: banned
    assert a1.closed and a2.closed and adm.is_banned("a")
    assert adm.precheck("a") == "banned" and not adm.admit(FakeConnection("a"))
    adm.closing = True
    assert adm.precheck("z") == "closing"


def test_login_timeout_closes_with_a_message_and_strikes() -> None:
    adm, clock = admission(login_timeout_s=10.0, ban_strikes=2)
    slow = [FakeConnection("s") for _ in range(3)]
    ok = FakeConnection("s")
    for c in [*slow, ok]:
        assert adm.admit(c)
    adm.authorized(ok)
    clock.now += 9
    adm.expire(clock.now)
    assert not any(c.closed for c in slow)
    clock.now += 2
    adm.expire(clock.now)
    assert all(c.closed for c in slow) and "in time" in slow[0].said
    # three strikes (more than 2): the IP is banned, its authorized connection closed too
    assert ok.closed and "Banned" in ok.said
    assert not adm.admit(FakeConnection("s"))
    assert adm.pending == 0


def test_strikes_are_forgiven_over_time() -> None:
    adm, clock = admission(ban_strikes=3)
    c = FakeConnection("a")
    assert adm.admit(c)
    for _ in range(3):
        adm.strike("a", "too_many_errors")
    clock.now += 60  # all forgiven
    for _ in range(3):
        adm.strike("a", "too_many_errors")
    assert not c.closed and not adm.is_banned("a")
    adm.strike("a", "too_many_errors")  # a fourth within the minute
    assert c.closed and adm.is_banned("a")


def test_ban_closes_the_ip_then_expires() -> None:
    adm, clock = admission(ban_check_after=4, ban_invalid_percent=50.0, ban_time_s=60.0)
    a1, a2, b1 = FakeConnection("a"), FakeConnection("a"), FakeConnection("b")
    for c in (a1, a2, b1):
        assert adm.admit(c)
    assert adm.judge_or_none is not None
    for result in ("accepted", "low_difficulty", "accepted", "duplicate"):  # 2 of 4 invalid: not above 50%
        adm.judge(a1, result)
    assert not a1.closed
    for result in ("low_difficulty", "malformed", "accepted", "invalid"):  # 3 of 4 (stale is no fault)
        adm.judge(a2, result)
    assert a1.closed and a2.closed and not b1.closed  # every connection of the IP
    assert not adm.admit(FakeConnection("a"))
    clock.now += 61
    adm.expire(clock.now)
    assert adm.admit(FakeConnection("a"))


def test_no_bans_when_ban_time_is_zero() -> None:
    adm, _ = admission(ban_time_s=0.0, ban_strikes=1)
    assert adm.judge_or_none is None
    c = FakeConnection("a")
    assert adm.admit(c)
    for _ in range(5):
        adm.strike("a", "line_too_long")
    assert not c.closed and adm.admit(FakeConnection("a"))


def test_quiet_addresses_are_forgotten() -> None:
    adm, clock = admission()
    for i in range(100):
        c = FakeConnection(f"10.0.0.{i}")
        assert adm.admit(c)
        adm.release(c)
    clock.now += 61
    adm.expire(clock.now)
    assert not adm._ips  # nothing kept for addresses gone for a minute


def test_ipv6_addresses_of_one_64_share_limits_and_bans() -> None:
    assert ip_key("192.0.2.7") == "192.0.2.7" and ip_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    adm, _ = admission(max_connections_per_ip=2, ban_strikes=1)
    a, b = FakeConnection("2001:db8::1"), FakeConnection("2001:db8::2")
    assert adm.admit(a) and adm.admit(b)
    assert adm.precheck("2001:db8::3") == "max_connections_per_ip"  # the /64 is at its limit
    adm.strike("2001:db8::1", "line_too_long")
    adm.strike("2001:db8::2", "line_too_long")
    assert adm.is_banned("2001:db8::ffff") and not adm.is_banned("2001:db8:0:1::1")


def test_close_later_closes_in_batches_and_marks_the_connections_at_once() -> None:
    deferred: list[Callable[[], None]] = []
    adm = Admission(StratumSettings(ban_strikes=1), FakeTime(), deferred.append)
    conns = [FakeConnection("a") for _ in range(CLOSE_BATCH + 10)]
    for c in conns:
        assert adm.admit(c)
    adm.strike("a", "too_many_errors")
    adm.strike("a", "too_many_errors")  # banned: every connection of the IP is queued
    assert all(c.closing for c in conns) and not any(c.closed for c in conns)
    deferred.pop()()
    assert sum(c.closed for c in conns) == CLOSE_BATCH and deferred  # the rest in the next iterations
    while deferred:
        deferred.pop()()
    assert all(c.closed and "Banned" in c.said for c in conns)


def test_refusal_logs_are_throttled_and_summed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sources.stratum.metrics")
    metrics.flush_log()
    metrics._window_start = time.monotonic()  # a fresh window
    metrics._logged.clear()
    metrics._suppressed.clear()
    for i in range(metrics.LOG_FIRST + 7):
        metrics.refused("connect_rate", f"10.1.1.{i}")
    assert len(caplog.records) == metrics.LOG_FIRST  # one line each for the first few
    metrics._window_start -= metrics.LOG_WINDOW_S
    metrics.flush_log()
    assert "7 more like that (connect_rate)" in caplog.records[-1].getMessage()


def test_connections_handed_to_the_gateway_still_count_at_the_door() -> None:
    adm, _ = admission(max_connections=3, max_connections_per_ip=2)
    adm.held_elsewhere("a", 1)
    adm.held_elsewhere("a", 1)
    assert adm.precheck("a") == "max_connections_per_ip"  # two of a's mine in the gateway process
    assert not adm.admit(FakeConnection("a"))
    adm.held_elsewhere("a", -1)  # one of them closed there
    a = FakeConnection("a")
    assert adm.admit(a)
    b = FakeConnection("b")
    assert adm.admit(b)
    adm.authorized(a)
    adm.authorized(b)
    assert not adm.admit(FakeConnection("c"))  # 1 elsewhere + 2 here: full, and nothing to evict
    adm.held_elsewhere("a", -1)
    assert adm.admit(FakeConnection("c"))


def test_bans_decided_on_one_side_are_told_to_the_other_once() -> None:
    told: list[tuple[str, float, str, str]] = []
    door, _ = admission(ban_strikes=1, ban_time_s=60.0)
    door.on_ban = lambda *ban: told.append(ban)
    gateway, _ = admission(ban_time_s=60.0)
    gateway.on_ban = lambda *ban: pytest.fail("a ban applied from the other side is not sent back")
    mining = FakeConnection("9.9.9.9")
    gateway.adopt(mining)
    assert gateway.count == 1 and gateway.pending == 0  # adopted connections are logged in already
    door.precheck("9.9.9.9")
    door.strike("9.9.9.9", "line_too_long")
    door.strike("9.9.9.9", "line_too_long")
    assert door.is_banned("9.9.9.9") and [t[0] for t in told] == ["9.9.9.9"]
    ip, seconds, reason, detail = told[0]
    gateway.apply_ban(ip, seconds, reason, detail)
    assert gateway.is_banned("9.9.9.9") and mining.closed and "Banned" in mining.said
    assert [b[0] for b in gateway.bans()] == ["9.9.9.9"]
