"""The seed 002 control and the live vardiff target against a real Stratum gateway (through `GatewayControl`,
as `poolstream run` wires it): stop closes the miners' connections and refuses new ones, start serves again
on the same port, and the vardiff target changes for connected miners and survives a restart."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from api.services.gateway_control import GatewayControl
from bus.publisher import Publisher, PublisherSettings
from poolstream.broker import free_port
from schemas.algorithms import Algorithm
from schemas.clock import SystemClock
from schemas.topics import TopicNames
from sources.stratum import StratumGateway, serve
from tests.integration.test_stratum_gateway import BTC_ADDR, Miner, settings

pytestmark = pytest.mark.integration
USER = f"{BTC_ADDR}.rig1"


def test_stop_start_restart_and_live_vardiff(kafka: str, topics: TopicNames) -> None:
    port = free_port()
    base = settings()
    cfg = dataclasses.replace(base, ports=(dataclasses.replace(base.ports[0], port=port),))

    async def main() -> None:
        publisher = Publisher(PublisherSettings(kafka))
        gateways: list[StratumGateway] = []

        async def start() -> StratumGateway:
            gateways.append(await serve(cfg, publisher, topics, SystemClock()))
            return gateways[-1]

        control = GatewayControl(vardiff_target_s=cfg.vardiff_target_s)
        control.bind(start)
        await control.launch()
        try:
            miner = await Miner.connect(port)
            await miner.login(USER)
            control.set_vardiff_target(3.0)
            [session] = gateways[0].ports[Algorithm.SHA256D].sessions
            assert session.vardiff is not None and session.vardiff.policy.target_s == 3.0

            assert (await control.stop()).state == "stopped"
            assert await miner.closed()
            with pytest.raises(OSError):
                await Miner.connect(port)

            assert (await control.start()).state == "running"
            again = await Miner.connect(port)
            await again.login(USER)
            assert gateways[1].ports[Algorithm.SHA256D].vardiff_policy.target_s == 3.0
            assert control.status().connections == 1

            assert (await control.restart()).state == "running" and len(gateways) == 3
            assert await again.closed()
        finally:
            await control.shutdown()
            publisher.close()

    asyncio.run(asyncio.wait_for(main(), 120))
