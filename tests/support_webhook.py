"""A webhook receiver (and fake push gateway) for tests: a real HTTP server on loopback in a thread that
records every POST, checks its `X-Poolstream-Signature` independently (stdlib hmac), and answers with the
statuses it is scripted with (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str
    script: list[int] = field(default_factory=list)  # statuses to answer first, in order
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@contextmanager
def webhook_receiver(secret: str, script: list[int] | None = None) -> Iterator[Receiver]:
    """A running receiver at `receiver.url` (http://127.0.0.1:<port>/hook); stopped on exit."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            receiver = holder[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ts = self.headers.get("X-Poolstream-Timestamp", "")
            sig = self.headers.get("X-Poolstream-Signature", "")
            ok = bool(ts) and hmac.compare_digest(expected_signature(receiver.secret, ts, body), sig)
            status = receiver.next_status()
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body, status, ok))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep pytest output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", secret, list(script or [])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
