"""A fake bitcoind wallet JSON-RPC server on loopback (real HTTP) for the payout tests: it answers
`sendmany` (counting sends, keeping the comment and the exact decimal amounts) and `listtransactions`."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeWallet:
    def __init__(self) -> None:
        self.sends: list[dict[str, Any]] = []  # {"amounts": {addr: Decimal}, "comment": str, "txid": str}
        self.fail_with: str = ""  # non-empty: sendmany answers an RPC error with this message
        self.raw: list[str] = []  # request bodies, as sent
        self.url = ""

    def answer(self, body: str) -> dict[str, Any]:
        self.raw.append(body)
        request = json.loads(body, parse_float=Decimal)
        method, params = request["method"], request["params"]
        if method == "sendmany":
            if self.fail_with:
                return {"result": None, "error": {"code": -6, "message": self.fail_with}, "id": request["id"]}
            txid = hashlib.sha256(f"{len(self.sends)}:{body}".encode()).hexdigest()
            self.sends.append({"amounts": params[1], "comment": params[3], "txid": txid})
            return {"result": txid, "error": None, "id": request["id"]}
        if method == "listtransactions":
            count, skip = int(params[1]), int(params[2])
            txs = [{"category": "send", "txid": s["txid"], "comment": s["comment"]} for s in self.sends]
            return {"result": txs[skip:skip + count], "error": None, "id": request["id"]}
        return {"result": None, "error": {"code": -32601, "message": "Method not found"}, "id": request["id"]}


@contextmanager
def fake_wallet() -> Iterator[FakeWallet]:
    wallet = FakeWallet()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            out = json.dumps(wallet.answer(body), default=str).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    wallet.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield wallet
    finally:
        server.shutdown()
        server.server_close()
