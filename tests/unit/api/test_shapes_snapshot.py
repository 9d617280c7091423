"""The pool snapshot (latest, current, subscribers, listeners, failures), exact coin amounts, seed names."""

from __future__ import annotations

import asyncio

import pytest

from api.dto.common import seed_name
from api.errors import InvalidRequest
from api.services.blocks import coin_amount, require_currency
from api.services.snapshot import Snapshot


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.fail = False

    async def __call__(self) -> int:
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("clickhouse down")
        self.n += 1
        return self.n


def test_current_computes_once_then_latest_is_served() -> None:
    async def main() -> None:
        compute = Counter()
        snap = Snapshot(compute, interval_s=60)
        assert snap.latest() is None
        assert await asyncio.gather(snap.current(), snap.current()) == [1, 1]  # joined, computed once
        assert (snap.latest(), await snap.current(), compute.n) == (1, 1, 1)

    asyncio.run(main())


def test_a_slow_subscriber_gets_the_newest_value_and_listeners_survive_a_broken_one() -> None:
    async def main() -> None:
        snap = Snapshot(Counter(), interval_s=60)
        queue = snap.subscribe()
        seen: list[int] = []

        def broken(_: int) -> None:
            raise ValueError("listener bug")

        snap.add_listener(broken)
        snap.add_listener(seen.append)
        for _ in range(3):
            await snap.refresh()
        assert (queue.qsize(), queue.get_nowait()) == (1, 3)  # skipped 1 and 2, never blocked the refresher
        assert seen == [1, 2, 3]
        snap.unsubscribe(queue)
        await snap.refresh()
        assert queue.empty()

    asyncio.run(main())


def test_a_failed_refresh_keeps_the_previous_value_and_the_loop_goes_on() -> None:
    async def main() -> None:
        compute = Counter()
        snap = Snapshot(compute, interval_s=0.01)
        async with snap.lifespan():
            await asyncio.sleep(0.05)
            compute.fail = True
            before = snap.latest()
            await asyncio.sleep(0.05)
            assert snap.latest() == before and snap.failures >= 1
            compute.fail = False
            await asyncio.sleep(0.05)
            assert (snap.latest() or 0) > (before or 0)

    asyncio.run(main())


def test_current_raises_when_no_value_could_ever_be_computed() -> None:
    async def main() -> None:
        compute = Counter()
        compute.fail = True
        with pytest.raises(RuntimeError):
            await Snapshot(compute, interval_s=60).current()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("base", "coin", "number", "text"),
    [(625_000_000, "BTC", 6.25, "6.25000000"), (1, "LTC", 1e-8, "0.00000001"), (0, "DOGE", 0.0, "0.00000000"),
     (2**63 - 1, "BTC", 92233720368.54775807, "92233720368.54775807")],
)
def test_coin_amounts_are_exact_strings(base: int, coin: str, number: float, text: str) -> None:
    assert coin_amount(base, coin) == (number, text)


def test_currency_filter_and_seed_names() -> None:
    assert require_currency("btc") == "BTC"
    assert require_currency(None) is None
    with pytest.raises(InvalidRequest):
        require_currency("B TC")
    assert [seed_name(n) for n in ("sha256d", "scrypt", "kawpow", "randomx", "other")] == [
        "SHA256d", "Scrypt", "KawPow", "RandomX", "other"]
