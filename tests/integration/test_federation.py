"""Federation on real parts: two Stratum gateways with their own ids feed one pipeline (embedded broker ->
share agent -> chDB); both are listed as peers with their own counts, hashrate and reputation, through
the service and through GET /api/v1/federation/status and /peers."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from litestar.testing import TestClient

from api import ApiDeps, ApiSettings, create_app
from api.services.db import Db
from api.services.federation import FederationService
from bus.publisher import Publisher, PublisherSettings
from schemas.algorithms import Algorithm
from schemas.clock import FixedClock, SystemClock
from schemas.topics import TopicNames
from sources.stratum import serve
from tests.integration.pipeline import running_pipeline, wait_for
from tests.integration.test_stratum_gateway import BTC_ADDR, SHA_DIFF, Miner, find_nonce, settings
from tests.unit.api.conftest import FakeProbe, report

pytestmark = pytest.mark.integration

#: gateway id -> (region, good shares, bad shares) it receives
PLAN = {"gw-eu": ("eu-west", 4, 1), "gw-us": ("us-east", 2, 0)}


async def mine(port: int, worker: str, good: int, bad: int) -> None:
    """`good` valid and `bad` low-difficulty shares from one miner connection."""
    m = await Miner.connect(port)
    user = f"{BTC_ADDR}.{worker}"
    work = await m.login(user)
    for i in range(good + bad):
        en2 = f"{i:0{2 * m.en2_size}x}"
        nonce = find_nonce("sha256d", work, m.en1, en2, SHA_DIFF, good=i < good)
        answer = await m.submit(user, work, en2, nonce)
        assert (answer["result"] is True) == (i < good), answer
    m.close()


def test_two_gateways_are_two_peers_with_their_own_counts(kafka: str, topics: TopicNames,
                                                          clickhouse: Client) -> None:
    expected = sum(good + bad for _, good, bad in PLAN.values())

    async def main() -> None:
        publisher = Publisher(PublisherSettings(kafka))
        gateways = [await serve(settings(gateway_id=gid, region=region), publisher, topics, SystemClock())
                    for gid, (region, _, _) in PLAN.items()]
        try:
            async with running_pipeline(kafka, topics, clickhouse) as pipeline:
                await asyncio.gather(*[mine(gw.port(Algorithm.SHA256D), gid.replace("-", ""), good, bad)
                                       for gw, (gid, (_, good, bad)) in zip(gateways, PLAN.items(), strict=True)])
                await wait_for(lambda: int(clickhouse.command("SELECT count() FROM shares")) >= expected,
                               what="every share stored", pipeline=pipeline)
        finally:
            for gw in gateways:
                await gw.close()
            publisher.close()
        rows = clickhouse.query("SELECT gateway, region, countIf(status = 'accepted'), count() FROM shares "
                                "GROUP BY gateway, region ORDER BY gateway").result_rows
        assert [tuple(r) for r in rows] == [("gw-eu", "eu-west", 4, 5), ("gw-us", "us-east", 2, 2)]
        peers = await FederationService(Db(clickhouse), SystemClock(), "gw-eu").peers()
        assert [(p.id, p.location, p.accepted, p.rejected + p.stale) for p in peers] == [
            ("gw-eu", "eu-west", 4, 1), ("gw-us", "us-east", 2, 0)]
        assert peers[0].reputation == pytest.approx(4 / 5) and peers[1].reputation == 1.0
        assert peers[0].hashrate > peers[1].hashrate > 0  # twice the accepted work at one difficulty

    asyncio.run(main())

    now = FixedClock(dt.datetime.now(dt.UTC))  # one "now" for both answers (a hashrate falls as time passes)
    deps = ApiDeps(clickhouse=clickhouse, clock=now, settings=ApiSettings(node_id="gw-eu"),
                   health=FakeProbe(report()))
    with TestClient(create_app(deps)) as api:
        status: dict[str, Any] = api.get("/api/v1/federation/status").json()["data"]
        assert status["node_id"] == "gw-eu" and status["peers"] == 2
        assert status["reputation"] == pytest.approx(6 / 7)
        assert status["settlements"] == {"pending": 0, "completed": 0}
        listed = api.get("/api/v1/federation/peers").json()["data"]
        assert [p["id"] for p in listed] == ["gw-eu", "gw-us"]
        assert status["shared_hashrate"] == pytest.approx(sum(p["hashrate"] for p in listed))
        assert {k: type(v) for k, v in listed[1].items() if k in ("id", "name", "location", "latency")} == {
            "id": str, "name": str, "location": str, "latency": type(None)}
        stats = api.get("/api/v1/stats").json()["data"]["federation"]
        assert stats["peers"] == 2 and stats["reputation"] == pytest.approx(6 / 7)
