"""A fake bitcoind wallet JSON-RPC server on loopback (real HTTP) for the payout tests: it answers
`sendmany` (counting sends, keeping the comment and the exact decimal amounts), `listtransactions` and
`gettransaction` (every send with `confirmations`).
With `delay_s`, the first `sendmany` is recorded at once but answered only after `delay_s` (or `release`):
a test can kill the sender while the send is in flight."""

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
        self.confirmations = 0  # what gettransaction reports for every send
        self.delay_s = 0.0  # > 0: hold the answer to the first sendmany (already recorded) this long
        self.recorded = threading.Event()  # set once the held sendmany is recorded
        self.release = threading.Event()  # set to answer the held sendmany now

    def sends_for(self, comment: str) -> int:
        """How many sendmany calls carried `comment` (a payout's idempotency key)."""
        return sum(1 for s in self.sends if s["comment"] == comment)

    def answer(self, body: str) -> dict[str, Any]:
        self.raw.append(body)
        request = json.loads(body, parse_float=Decimal)
        method, params = request["method"], request["params"]
        if method == "sendmany":
            if self.fail_with:
                return {"result": None, "error": {"code": -6, "message": self.fail_with}, "id": request["id"]}
            txid = hashlib.sha256(f"{len(self.sends)}:{body}".encode()).hexdigest()
            self.sends.append({"amounts": params[1], "comment": params[3], "txid": txid})
            if self.delay_s and len(self.sends) == 1:
                self.recorded.set()
                self.release.wait(self.delay_s)
            return {"result": txid, "error": None, "id": request["id"]}
        if method == "gettransaction":
            found = [s for s in self.sends if s["txid"] == params[0]]
            if not found:
                return {"result": None, "error": {"code": -5, "message": "Invalid or non-wallet transaction id"},
                        "id": request["id"]}
            return {"result": {"txid": params[0], "confirmations": self.confirmations}, "error": None,
                    "id": request["id"]}
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
            try:
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                return  # the caller was killed while its request was held (delay_s): nobody to answer

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
