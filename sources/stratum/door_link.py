"""The gateway's side of its door process (`door.py`): start it on the listening sockets, take on the
connections that logged in there, share bans both ways, add the door's counters to `/metrics`, restart it if
it dies, stop it first at shutdown.

A connection taken on becomes an `AdoptedSession`: the gateway's `session.Session` with the state the door
built (extranonce1, authorized workers, suggested difficulty, error budgets), which starts mining at once
(set_difficulty and the current job) and reads first what the door read after the login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol, cast

from sources.stratum import metrics
from sources.stratum.admission import Admission
from sources.stratum.connection import LineConnection
from sources.stratum.contracts import Connection, Port
from sources.stratum.door_wire import Handover, Link, add_counts
from sources.stratum.session import Session
from sources.stratum.settings import StratumSettings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0  # the door imports the gateway's modules (numpy, numba) before it is ready
STOP_TIMEOUT_S = 3.0
RESTART_AFTER_S = 1.0


class AdoptedSession(Session):
    """A connection that logged in at the door, taken on by the gateway."""

    __slots__ = ("_handover",)

    def __init__(self, port: Port, handover: Handover) -> None:
        super().__init__(port)
        self._handover = handover

    def connection_made(self, transport: Any) -> None:
        LineConnection.connection_made(self, transport)
        self.ip = self.ip or self._handover.ip
        if not self.port.adopt(self):  # shutting down
            self.abort()
            return
        h = self._handover
        self.extranonce1 = h.extranonce1
        self.subscribed = True
        self.user_agent = h.user_agent
        self.hardware = h.hardware
        self.workers = h.workers
        self.difficulty = h.difficulty
        self._errors_left, self._errors_at = h.errors_left, h.errors_at
        self._auth_left, self._auth_at = h.auth_left, h.auth_at
        self.start_mining()
        self.flush()
        if h.unread:
            self.data_received(h.unread)


class _Remote:
    """A connection still at the door, as the share recorder sees it (a submit before logging in)."""

    __slots__ = ("ip", "hardware", "difficulty")

    def __init__(self, ip: str, hardware: str, difficulty: float) -> None:
        self.ip, self.hardware, self.difficulty = ip, hardware, difficulty


class Gateway(Protocol):
    """What the door's link uses of the gateway (`gateway.StratumGateway`)."""

    settings: StratumSettings
    loop: asyncio.AbstractEventLoop
    admission: Admission

    def port_by_wire(self, wire: str) -> Port | None: ...


class DoorLink:
    """The running door of `gateway`."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway
        self._loop = gateway.loop
        self._proc: subprocess.Popen[bytes] | None = None
        self._link: Link | None = None
        self._ready: asyncio.Future[None] | None = None
        self._sockets: dict[str, list[socket.socket]] = {}
        self._opening: set[asyncio.Task[Any]] = set()
        self._gone: list[str] = []
        self._waiting: dict[str, int] = {}
        self._closing = False
        self._en1 = int.from_bytes(os.urandom(4), "little")

    @property
    def pid(self) -> int | None:
        """The door process's id (None before it starts)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def waiting(self) -> int:
        """Connections at the door, not logged in yet (as of its last report)."""
        return sum(self._waiting.values())

    async def start(self, sockets: dict[str, list[socket.socket]]) -> None:
        """Start the door on the listening `sockets` (per algorithm) and wait until it accepts."""
        self._sockets = sockets
        await self._spawn()

    async def _spawn(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listen = {wire: [s.fileno() for s in socks] for wire, socks in self._sockets.items()}
        fds = [child.fileno(), *(fd for group in listen.values() for fd in group)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        s = self._gw.settings
        self._proc = subprocess.Popen([sys.executable, "-m", "sources.stratum.door", str(child.fileno())],
                                      pass_fds=fds, env=env, cwd=ROOT)  # fmt: skip
        child.close()
        config = {"settings": s, "listen": listen, "nice": s.door_nice, "extranonce1": self._en1,
                  "log_level": logging.getLogger().getEffectiveLevel()}  # fmt: skip
        parent.send(pickle.dumps(config, pickle.HIGHEST_PROTOCOL))
        self._ready = self._loop.create_future()
        self._link = Link(parent, self._on_message, self._on_closed)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), START_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError("the Stratum door process did not start in time") from None

    # -- from the door -----------------------------------------------------------------------------------
    def _on_message(self, message: tuple[Any, ...], fds: list[int]) -> None:
        kind = message[0]
        if kind == "adopt":
            self._adopt(message[1], fds)
            return
        for fd in fds:
            os.close(fd)
        if kind == "ready":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        elif kind == "stats":
            self._waiting = dict(message[1])
            for wire, n in self._waiting.items():
                metrics.WAITING.labels(wire).set(n)
            add_counts(message[2])
        elif kind == "ban":
            self._gw.admission.apply_ban(*message[1:5])
        elif kind == "rejected":
            _, wire, ip, hardware, difficulty, params, reason = message
            rt = self._gw.port_by_wire(wire)
            if rt is not None:
                rt.rejected(cast(Connection, _Remote(ip, hardware, difficulty)), None, params, reason, None)

    def _adopt(self, handover: Handover, fds: list[int]) -> None:
        if not fds:
            return
        sock = socket.socket(fileno=fds[0])
        for fd in fds[1:]:
            os.close(fd)
        self._en1 = int.from_bytes(handover.extranonce1, "big")
        rt = self._gw.port_by_wire(handover.algorithm)
        if rt is None or self._closing:
            sock.close()
            return
        task = self._loop.create_task(self._open(rt, handover, sock))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open(self, rt: Port, handover: Handover, sock: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: AdoptedSession(rt, handover), sock)
        except OSError as exc:  # the miner left meanwhile
            log.debug("stratum: handed-over socket failed: %r", exc)
            with contextlib.suppress(OSError):
                sock.close()
            self.gone(handover.ip)

    def _on_closed(self) -> None:
        self._waiting = {}
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(RuntimeError("the Stratum door process exited at start: see its log above"))
            return
        if self._closing:
            return
        code = self._proc.poll() if self._proc is not None else None
        log.error("stratum: the door process (new connections) exited (code %s): restarting it", code)
        task = self._loop.create_task(self._restart())
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _restart(self) -> None:
        while not self._closing:
            await asyncio.sleep(RESTART_AFTER_S)
            if self._proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(self._proc.wait, STOP_TIMEOUT_S)
            try:
                await self._spawn()
                log.info("stratum: the door process is back")
                return
            except (RuntimeError, OSError) as exc:
                log.error("stratum: restarting the door failed: %s", exc)

    # -- to the door ---------------------------------------------------------------------------------
    def gone(self, ip: str) -> None:
        """A connection handed over by the door closed: the door counts it out of the IP's limit."""
        if not ip:
            return
        self._gone.append(ip)
        if len(self._gone) == 1:
            self._loop.call_later(0.05, self._send_gone)

    def _send_gone(self) -> None:
        gone, self._gone = self._gone, []
        if gone and self._link is not None:
            self._link.send(("gone", gone))

    def ban(self, ip: str, seconds: float, reason: str, detail: str) -> None:
        """A ban the gateway decided (e.g. invalid shares): the door refuses the IP too."""
        if self._link is not None:
            self._link.send(("ban", ip, seconds, reason, detail))

    async def close(self) -> None:
        """Stop the door (no new connection, those waiting at the door closed) and wait for it to exit."""
        self._closing = True
        for task in list(self._opening):
            task.cancel()
        if self._link is not None:
            self._link.send(("stop",))
        if self._proc is not None:
            try:
                await asyncio.to_thread(self._proc.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("stratum: the door process did not stop in %.0fs: killed", STOP_TIMEOUT_S)
                self._proc.kill()
                await asyncio.to_thread(self._proc.wait)
        if self._link is not None:
            self._link.close()
        for socks in self._sockets.values():
            for sock in socks:
                sock.close()
        for n in self._waiting:
            metrics.WAITING.labels(n).set(0)
        self._waiting = {}
