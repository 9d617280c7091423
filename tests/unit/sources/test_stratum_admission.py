"""Admission on its own (no sockets): connection limits in total and per IP, bans on the invalid ratio, and
the end of a ban, with a fake clock and fake connections."""

from __future__ import annotations

import dataclasses

from sources.stratum.admission import Admission
from sources.stratum.settings import StratumSettings


class FakeConnection:
    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.closed = False

    def close(self) -> None:
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
    assert not adm.admit(c1)  # total reached
    adm.release(a1)
    adm.release(a1)  # idempotent
    assert adm.count == 2 and adm.admit(c1)
    adm.closing = True
    assert not adm.admit(FakeConnection("d"))


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
    assert adm.admit(FakeConnection("a"))


def test_no_bans_when_ban_time_is_zero() -> None:
    adm, _ = admission(ban_time_s=0.0)
    assert adm.judge_or_none is None
