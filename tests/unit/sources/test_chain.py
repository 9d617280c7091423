"""Chain status: a bitcoind-compatible node over real HTTP on loopback (a tiny fake JSON-RPC server), and the
simulated chain file."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from schemas.clock import FixedClock
from schemas.config import SettingsError
from sources.chain.rpc import NodeRpcChain
from sources.chain.simulated import ChainBlock, SimulatedChain, SimulatedChainFile, record_blocks
from sources.chain.status import ChainSettings, ChainUnavailable

MAIN = "aa" * 32
SIDE = "bb" * 32


class FakeNode(BaseHTTPRequestHandler):
    """Main chain: height 100 -> MAIN with 7 confirmations; SIDE is a stale block (confirmations -1)."""

    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeNode.calls.append({"auth": self.headers.get("Authorization"), **request})
        method, params = request["method"], request["params"]
        result: Any = None
        error: Any = None
        if method == "getblockhash":
            if params[0] > 106:
                error = {"code": -8, "message": "Block height out of range"}
            else:
                result = MAIN if params[0] == 100 else "cc" * 32
        elif method == "getblock":
            if params[0] == MAIN:
                result = {"hash": MAIN, "height": 100, "confirmations": 7}
            elif params[0] == SIDE:
                result = {"hash": SIDE, "height": 100, "confirmations": -1}
            else:
                error = {"code": -5, "message": "Block not found"}
        body = json.dumps({"result": result, "error": error, "id": request["id"]}).encode()
        self.send_response(500 if error else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def node() -> Iterator[str]:
    FakeNode.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_rpc_confirmations_of_a_main_chain_block(node: str) -> None:
    chain = NodeRpcChain({"BTC": node}, user="rpc", password="secret")
    assert chain.confirmations("BTC", 100, MAIN) == 7
    assert [c["method"] for c in FakeNode.calls] == ["getblockhash", "getblock"]
    assert FakeNode.calls[0]["params"] == [100]
    assert FakeNode.calls[0]["auth"].startswith("Basic ")
    chain.close()


def test_rpc_another_block_at_the_height_is_an_orphan(node: str) -> None:
    chain = NodeRpcChain({}, default_url=node)
    assert chain.confirmations("LTC", 100, SIDE) is None
    assert chain.confirmations("LTC", 101, MAIN) is None  # the height holds another block


def test_rpc_a_height_beyond_the_tip_has_no_confirmations_yet(node: str) -> None:
    assert NodeRpcChain({"BTC": node}).confirmations("BTC", 200, MAIN) == 0


def test_rpc_unreachable_node_or_coin_without_node_is_unavailable(node: str) -> None:
    with pytest.raises(ChainUnavailable, match="no node URL"):
        NodeRpcChain({"BTC": node}).confirmations("DOGE", 100, MAIN)
    with pytest.raises(ChainUnavailable, match="getblockhash"):
        NodeRpcChain({"BTC": "http://127.0.0.1:9/"}, timeout_s=2).confirmations("BTC", 100, MAIN)


T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)


def test_simulated_chain_height_advances_with_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "chain" / "simulated.json"
    chain_file = SimulatedChainFile()
    tip = chain_file.tip("BTC", T0_MS, 1000)
    height = chain_file.next_height("BTC", T0_MS + 5_000)
    assert height == tip.origin_height + 6
    chain_file.blocks[MAIN] = ChainBlock(MAIN, "BTC", height)
    assert chain_file.next_height("BTC", T0_MS + 5_000) == height + 1  # two pool blocks never share a height
    chain_file.save(path)
    record_blocks(path, [ChainBlock(SIDE, "BTC", height + 1, orphan=True)])

    clock = FixedClock(T0 + dt.timedelta(seconds=5))
    chain = SimulatedChain(path, clock)
    assert chain.confirmations("BTC", height, MAIN) == 0  # not reached yet
    later = SimulatedChain(path, FixedClock(T0 + dt.timedelta(seconds=106)))
    assert later.confirmations("BTC", height, MAIN) == 101
    assert later.confirmations("BTC", height + 1, SIDE) is None
    with pytest.raises(ChainUnavailable, match="not in the simulated chain"):
        later.confirmations("BTC", height, "dd" * 32)


def test_simulated_chain_missing_or_broken_file_is_unavailable(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    with pytest.raises(ChainUnavailable, match="poolstream simulate"):
        SimulatedChain(tmp_path / "none.json", clock).confirmations("BTC", 1, MAIN)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ChainUnavailable, match="unreadable"):
        SimulatedChain(tmp_path / "bad.json", clock).confirmations("BTC", 1, MAIN)


def test_chain_settings_reject_unknown_source() -> None:
    with pytest.raises(SettingsError, match="simulated, rpc, none"):
        ChainSettings(source="magic")
