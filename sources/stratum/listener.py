"""The listening sockets of one port, accepted on a thread of their own, checked before anything is built.

asyncio's `create_server` builds a task, a transport (a reference cycle on CPython 3.11) and a protocol for
every accepted socket before the protocol learns the peer's address, all on the event loop: a banned IP or
a connection flood cost ~50 µs of loop time per connection, more when the kernel, busy with the flood, made
`accept()`/`close()` slow. Here an accept thread takes the sockets: each peer address goes through `precheck`
(admission: shutting down, banned, connecting too fast, at its limit) and a refused socket is closed right
there, counted and logged (`metrics.refused`), never touching the loop. Admitted sockets, and the strikes of
refused `connect_rate` ones, are handed to the loop in one call per accept batch; there each admitted
socket becomes an asyncio transport and a protocol (`loop.connect_accepted_socket`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import selectors
import socket
import threading
from collections.abc import Callable

from sources.stratum import metrics

log = logging.getLogger(__name__)

ACCEPT_BATCH = 128  # sockets accepted per readiness event before they are handed over
RETRY_S = 1.0  # out of file descriptors: stop accepting this long
POLL_S = 0.2  # how soon the accept thread notices `close()`

_REFUSED = {
    "banned": "refused a connection from banned",
    "connect_rate": "refused a connection (too many per second) from",
    "max_connections_per_ip": "refused a connection (per-IP limit) from",
}


class Listener:
    """Accepts on every address of `host`:`port`. `factory` builds the protocol of an admitted socket;
    `precheck(ip)` (called on the accept thread) says why to refuse one, or None; `strike(ip, reason)` is
    called on the loop for each connection refused for connecting too fast."""

    def __init__(
        self, factory: Callable[[], asyncio.Protocol], precheck: Callable[[str], str | None],
        strike: Callable[[str, str], None], backlog: int = 4096,
    ) -> None:  # fmt: skip
        self._loop = asyncio.get_running_loop()
        self._factory = factory
        self._precheck = precheck
        self._strike = strike
        self._backlog = backlog
        self._sockets: list[socket.socket] = []
        self._opening: set[asyncio.Task[None]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def listen(self, host: str, port: int) -> None:
        """Bind and listen (raises OSError, e.g. address in use), then accept on a thread."""
        await self.bind(host, port)
        self.start()

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (bound by `bind`, or given to `start`)."""
        return self._sockets

    async def bind(self, host: str, port: int) -> None:
        """Bind and listen on every address of `host`:`port` (raises OSError, e.g. address in use), without
        accepting yet: `start` accepts here, or the sockets go to the door process (`door_link.py`)."""
        infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(self._backlog)
                sock.setblocking(False)
        except OSError:
            self._close_sockets()
            raise

    def start(self, sockets: list[socket.socket] | None = None) -> None:
        """Accept on a thread, on the bound sockets or on `sockets` (listening ones handed over by fd)."""
        if sockets is not None:
            self._sockets = sockets
        self._thread = threading.Thread(target=self._run, name=f"stratum-accept-{self.port}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        return int(self._sockets[0].getsockname()[1])

    def close(self) -> None:
        """Stop accepting (connections already open are not touched)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * POLL_S + 1)
        self._close_sockets()
        for task in self._opening:
            task.cancel()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()

    # -- the accept thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self._sockets:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(POLL_S):
                    lsock = key.fileobj
                    assert isinstance(lsock, socket.socket)
                    if not self._accept(lsock):
                        self._stop.wait(RETRY_S)

    def _accept(self, lsock: socket.socket) -> bool:
        """Accept what is waiting (up to a batch); False when out of file descriptors."""
        admitted: list[socket.socket] = []
        too_fast: list[str] = []
        ok = True
        for _ in range(ACCEPT_BATCH):
            try:
                conn, address = lsock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                break
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("stratum: accept failed: %r", exc)
                metrics.refused("out_of_resources", "", f"cannot accept ({exc.strerror}): pausing {RETRY_S:.0f}s,")
                ok = False
                break
            ip = str(address[0])
            reason = self._precheck(ip)
            if reason is None:
                admitted.append(conn)
                continue
            conn.close()
            if reason != "closing":
                metrics.refused(reason, ip, _REFUSED[reason])
            if reason == "connect_rate":
                too_fast.append(ip)
        if admitted or too_fast:
            with contextlib.suppress(RuntimeError):  # the loop is closed: we are shutting down
                self._loop.call_soon_threadsafe(self._hand_over, admitted, too_fast)
        return ok

    # -- on the loop -----------------------------------------------------------------------------
    def _hand_over(self, admitted: list[socket.socket], too_fast: list[str]) -> None:
        for ip in too_fast:
            self._strike(ip, "connect_rate")
        for conn in admitted:
            if self._stop.is_set():
                conn.close()
                continue
            task = self._loop.create_task(self._open(conn))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    async def _open(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError as exc:  # the peer left before the transport was made: nothing to keep
            log.debug("stratum: accepted socket failed: %r", exc)
            with contextlib.suppress(OSError):
                conn.close()
