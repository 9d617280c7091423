"""The door process (`sources/stratum/door.py`): connections log in there and are handed to the gateway
with their socket and session state; a killed door comes back while the miners it handed over keep mining;
`door=False` keeps everything in one process. Real gateway, real embedded broker, real sockets."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from schemas.algorithms import Algorithm
from schemas.topics import TopicNames
from sources.stratum import StratumGateway
from tests.integration.test_stratum_gateway import (
    BTC_ADDR,
    SHA_DIFF,
    Miner,
    Work,
    find_nonce,
    run_gateway,
    settings,
    settles,
)


async def mine_one(m: Miner, user: str, work: Work, n: int) -> dict[str, Any]:
    en2 = f"{n:08x}"
    return await m.submit(user, work, en2, find_nonce("sha256d", work, m.en1, en2, SHA_DIFF))


def test_a_pipelined_login_is_handed_over_with_what_followed_it(kafka: str, topics: TopicNames) -> None:
    async def body(gw: StratumGateway) -> None:
        assert gw.door is not None and gw.door.pid is not None and gw.door.pid != os.getpid()
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        user = f"{BTC_ADDR}.piped"
        requests = [(1, "mining.subscribe", ["cpuminer/2.5.1"]), (2, "mining.authorize", [user, "x"]),
                    (3, "mining.extranonce.subscribe", []), (4, "client.get_version", [])]  # fmt: skip
        partial = b'{"id":5,"method":"mining.subscribe","params":["again"]'  # and half of a fifth line
        await m.send_raw(b"".join(json.dumps({"id": i, "method": k, "params": p}).encode() + b"\n"
                                  for i, k, p in requests) + partial)  # fmt: skip
        sub = await m.response(1)
        _, m.en1, _ = sub["result"]
        assert (await m.response(2))["result"] is True  # answered at the door
        assert (await m.response(3))["result"] is True  # read at the door, answered by the gateway
        assert str((await m.response(4))["result"]).startswith("poolstream/")
        await m.send_raw(b"}\n")  # the gateway finishes the line the door started reading
        assert (await m.response(5))["result"][1] == m.en1  # the same extranonce1 on both sides
        await m.wait_note("mining.notify")
        assert (await mine_one(m, user, m.work(), 1))["result"] is True
        assert await settles(lambda: gw.admission.count == 1 and gw.connection_count == 1)
        m.close()

    run_gateway(kafka, topics, settings(), body)


def test_a_killed_door_comes_back_and_handed_over_miners_keep_mining(kafka: str, topics: TopicNames) -> None:
    async def body(gw: StratumGateway) -> None:
        assert gw.door is not None
        port = gw.port(Algorithm.SHA256D)
        a = await Miner.connect(port)
        work = await a.login(f"{BTC_ADDR}.a")
        first = gw.door.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for n in range(1, 4):  # mining goes on in the gateway process
            assert (await mine_one(a, f"{BTC_ADDR}.a", work, n))["result"] is True
        assert await settles(lambda: gw.door is not None and gw.door.pid not in (None, first), timeout=30)
        b = await Miner.connect(port)  # a new miner gets in through the new door
        work_b = await b.login(f"{BTC_ADDR}.b")
        assert b.en1 != a.en1
        assert (await mine_one(b, f"{BTC_ADDR}.b", work_b, 1))["result"] is True
        assert (await mine_one(a, f"{BTC_ADDR}.a", work, 9))["result"] is True
        a.close()
        b.close()

    run_gateway(kafka, topics, settings(), body)


def test_without_a_door_everything_runs_in_one_process(kafka: str, topics: TopicNames) -> None:
    async def body(gw: StratumGateway) -> None:
        assert gw.door is None
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        work = await m.login(f"{BTC_ADDR}.solo")
        assert (await mine_one(m, f"{BTC_ADDR}.solo", work, 1))["result"] is True
        assert gw.connection_count == 1
        m.close()

    run_gateway(kafka, topics, settings(door=False), body)
