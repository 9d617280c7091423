"""Submits hashed on the event loop (the small batches of miners waiting for their answers) and in the verify
threads (a burst of pipelined submits) get the same exact verdicts, checked by a miner written with hashlib
only (`test_stratum_gateway.Miner`), and each becomes exactly one share event on the real broker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from schemas.algorithms import Algorithm
from schemas.topics import TopicNames
from sources.stratum import PortSettings, StratumGateway, StratumSettings
from tests.integration.test_stratum_gateway import BTC_ADDR, Miner, error_code, meets, run_gateway, shares_on

DIFF = 2.0**-31  # target ~2^255: about one hash in two meets it, so both verdicts occur
PIPELINED = 150  # more than the verifier hashes on the loop: goes to a verify thread
MINERS, ROUNDS = 20, 5  # each with one submit in flight: small batches, hashed on the loop


def verdict(msg: dict[str, Any]) -> str:
    if msg.get("result") is True:
        return "accepted"
    return {22: "duplicate", 23: "low_difficulty"}.get(error_code(msg) or 0, f"unexpected {msg}")


def test_inline_and_threaded_batches_give_exact_verdicts_and_one_event_each(kafka: str, topics: TopicNames) -> None:
    expected: dict[tuple[str, str], str] = {}  # (worker, extranonce2) -> result

    async def body(gw: StratumGateway) -> None:
        # one miner sends a burst of submits in one write, the last one a duplicate of the first
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        work = await m.login(f"{BTC_ADDR}.burst")
        lines, want = [], {}
        for i in range(PIPELINED + 1):
            en2, nonce = f"{i % PIPELINED:08x}", (i % PIPELINED) * 7919
            lines.append(json.dumps({"id": 1000 + i, "method": "mining.submit",
                                     "params": [f"{BTC_ADDR}.burst", work.job_id, en2, work.ntime, f"{nonce:08x}"]}))
            good = meets("sha256d", work.header(m.en1, en2, nonce), DIFF)
            want[1000 + i] = "duplicate" if i == PIPELINED else ("accepted" if good else "low_difficulty")
            if i < PIPELINED:
                expected[("burst", en2)] = want[1000 + i]
        await m.send_raw("\n".join(lines).encode() + b"\n")
        got: dict[int, str] = {}
        while len(got) < len(want):
            msg = await m.read()
            assert msg is not None, "connection closed"
            if "method" not in msg:
                got[msg["id"]] = verdict(msg)
        assert got == want
        m.close()

        # miners that each wait for their answer before the next submit
        miners = [await Miner.connect(gw.port(Algorithm.SHA256D)) for _ in range(MINERS)]
        works = [await mm.login(f"{BTC_ADDR}.one{k}") for k, mm in enumerate(miners)]

        async def one(k: int, r: int) -> None:
            mm, w = miners[k], works[k]
            en2, nonce = f"{r:08x}", r * 104_729 + k
            good = meets("sha256d", w.header(mm.en1, en2, nonce), DIFF)
            assert verdict(await mm.submit(f"{BTC_ADDR}.one{k}", w, en2, nonce)) == ("accepted" if good else
                                                                                     "low_difficulty")
            expected[(f"one{k}", en2)] = "accepted" if good else "low_difficulty"

        for r in range(ROUNDS):
            await asyncio.gather(*(one(k, r) for k in range(MINERS)))
        for mm in miners:
            mm.close()
        verifier = gw.ports[Algorithm.SHA256D].verifier
        assert verifier.thread_batches >= 1 and verifier.inline_batches >= 1

    port = PortSettings(Algorithm.SHA256D, 0, start_difficulty=DIFF, min_difficulty=DIFF, max_difficulty=DIFF,
                        nbits=0x1D00FFFF)
    # bans off: half of these shares are low difficulty on purpose
    run_gateway(kafka, topics, StratumSettings(ports=(port,), share_flush_ms=20.0, ban_time_s=0), body)

    total = PIPELINED + 1 + MINERS * ROUNDS
    shares = shares_on(kafka, topics, expect=total)
    assert len(shares) == total
    assert sorted(s.result for s in shares if s.worker == "burst" and s.result == "duplicate") == ["duplicate"]
    recorded = {(s.worker, s.extranonce2): s.result for s in shares if s.result != "duplicate"}
    assert recorded == expected
    assert {"accepted", "low_difficulty"} <= set(expected.values())
