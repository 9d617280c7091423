"""The getblocktemplate job source against a small fake node (JSON-RPC over HTTP, written here): jobs carry
the node's transactions, and a solved share goes back as a full block through `submitblock`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from schemas.algorithms import Algorithm
from schemas.topics import TopicNames
from sources.stratum import GetBlockTemplateJobSource, GetBlockTemplateSettings, NodeError, StratumGateway
from tests.integration.test_stratum_gateway import (
    LTC_ADDR,
    SCRYPT_DIFF,
    SHA_DIFF,
    Miner,
    find_nonce,
    run_gateway,
    settings,
)

ADDR = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


TX_DATA = ["0100000001" + "ab" * 40, "0200000001" + "cd" * 50]
TXIDS = [sha256d(bytes.fromhex(t)) for t in TX_DATA]
PREV = "0000000000000000000" + "1" * 45
COMMITMENT = "6a24aa21a9ed" + "ee" * 32


class FakeNode:
    """Answers getblocktemplate and submitblock; records submitted blocks."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.auth: set[str | None] = set()  # Authorization headers seen
        self.fail = False
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.auth.add(self.headers.get("Authorization"))
                result: Any = None
                error: Any = None
                if node.fail:
                    error = {"code": -10, "message": "Bitcoin is downloading blocks..."}
                elif body["method"] == "getblocktemplate":
                    result = {
                        "version": 0x20000000, "previousblockhash": PREV, "height": 100, "bits": "207fffff",
                        "curtime": int(time.time()), "coinbasevalue": 5_000_000_000,
                        "transactions": [{"data": d, "txid": t[::-1].hex(), "hash": t[::-1].hex()}
                                         for d, t in zip(TX_DATA, TXIDS, strict=True)],
                        "default_witness_commitment": COMMITMENT,
                    }  # fmt: skip
                elif body["method"] == "submitblock":
                    node.blocks.append(body["params"][0])
                payload = json.dumps({"id": body["id"], "result": result, "error": error}).encode()
                self.send_response(500 if error else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def node() -> Iterator[FakeNode]:
    n = FakeNode()
    yield n
    n.server.shutdown()


def test_template_parsed_and_node_errors_raised(node: FakeNode) -> None:
    async def main() -> None:
        src = GetBlockTemplateJobSource({Algorithm.SHA256D: GetBlockTemplateSettings(node.url)})
        t = await src.template(Algorithm.SHA256D)
        assert t.height == 100 and t.nbits == 0x207FFFFF and t.prevhash == bytes.fromhex(PREV)[::-1]
        assert list(t.txids) == TXIDS and t.witness_commitment.hex() == COMMITMENT
        node.fail = True
        with pytest.raises(NodeError, match="downloading"):
            await src.template(Algorithm.SHA256D)
        await src.close()

    asyncio.run(main())


def test_share_meeting_network_target_is_submitted_as_a_block(
    kafka: str, topics: TopicNames, node: FakeNode
) -> None:
    cfg = settings(ports=settings().ports[:1])
    seen: dict[str, Any] = {}

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        work = await m.login(f"{ADDR}.rig")
        assert work.branch[0] == TXIDS[0].hex()  # the node's transactions are in the merkle branch
        nonce = find_nonce("sha256d", work, m.en1, "00" * 4, SHA_DIFF)
        assert (await m.submit(f"{ADDR}.rig", work, "00" * 4, nonce))["result"] is True
        for _ in range(100):
            if node.blocks:
                break
            await asyncio.sleep(0.02)
        seen.update(header=work.header(m.en1, "00" * 4, nonce), coinbase=work.coinb1 + m.en1 + "00" * 4 + work.coinb2)
        m.close()

    job_source = GetBlockTemplateJobSource({Algorithm.SHA256D: GetBlockTemplateSettings(node.url)})
    run_gateway(kafka, topics, cfg, body, job_source)
    assert len(node.blocks) == 1
    block = bytes.fromhex(node.blocks[0])
    header = seen["header"]
    assert block[:80] == header
    assert block[80] == 3  # coinbase + the node's two transactions
    legacy = bytes.fromhex(seen["coinbase"])
    witness = legacy[:4] + b"\x00\x01" + legacy[4:-4] + b"\x01\x20" + b"\x00" * 32 + legacy[-4:]
    assert block[81 : 81 + len(witness)] == witness
    assert block[81 + len(witness) :].hex() == "".join(TX_DATA)
    assert bytes.fromhex(COMMITMENT) in legacy  # the witness commitment output is in the coinbase


def test_node_url_in_settings_makes_serve_mine_on_the_node(kafka: str, topics: TopicNames, node: FakeNode) -> None:
    """`serve()` without a job source: `node_url` puts the sha256d port on the node's templates (with the
    node's credentials); the scrypt port, which no node serves, keeps the template generator."""
    cfg = settings(node_url=node.url, node_user="pool", node_password="s3cret")

    async def body(gw: StratumGateway) -> None:
        m = await Miner.connect(gw.port(Algorithm.SHA256D))
        work = await m.login(f"{ADDR}.rig")
        assert work.branch[0] == TXIDS[0].hex() and int(work.nbits, 16) == 0x207FFFFF  # the node's template
        nonce = find_nonce("sha256d", work, m.en1, "00" * 4, SHA_DIFF)
        assert (await m.submit(f"{ADDR}.rig", work, "00" * 4, nonce))["result"] is True
        for _ in range(100):
            if node.blocks:
                break
            await asyncio.sleep(0.02)
        m.close()
        s = await Miner.connect(gw.port(Algorithm.SCRYPT))
        work = await s.login(f"{LTC_ADDR}.rig")
        assert work.branch[0] != TXIDS[0].hex() and int(work.nbits, 16) == 0x1E0FFFF0  # the generator's
        nonce = find_nonce("scrypt", work, s.en1, "00" * 4, SCRYPT_DIFF)
        assert (await s.submit(f"{LTC_ADDR}.rig", work, "00" * 4, nonce))["result"] is True
        s.close()

    run_gateway(kafka, topics, cfg, body)
    assert len(node.blocks) == 1  # the share met the node's (regtest) target: submitted as a block
    assert node.auth == {"Basic " + base64.b64encode(b"pool:s3cret").decode()}
