"""The door: a process of its own, at a lower CPU priority, where Stratum connections wait until they log in.

It accepts on the gateway's listening sockets (inherited), applies admission (bans, connect rate, per-IP and
total limits, login timeout, eviction, strikes), framing limits and the pre-login methods (`mining.configure`,
`mining.subscribe`, `mining.authorize`, `mining.suggest_difficulty`, the constant ones) with the gateway's
own `session.Session` code. A connection that has subscribed and authorized is handed to the gateway process
(`door_link.py`) with its socket and its session state, and the door forgets it. Floods of connections that
never log in, slowloris and authorize storms thus cost the door, not the event loop that answers the miners'
submits; the kernel's scheduler gives the gateway the CPU first (`STRATUM_DOOR_NICE`).

Run by the gateway: ``python -m sources.stratum.door FD``; the first packet on FD is the configuration. The
door exits when the gateway says stop or is gone (its end of the pair closes, kill -9 included).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from bus.publisher import partition_of
from sources.stratum import metrics
from sources.stratum.admission import Admission
from sources.stratum.contracts import Connection
from sources.stratum.door_wire import MAX_PACKET, Handover, Link, counter_totals
from sources.stratum.identity import Worker
from sources.stratum.jobs import CoinbasePolicy, Job
from sources.stratum.listener import Listener
from sources.stratum.port_base import PortBase, sweep
from sources.stratum.session import Session
from sources.stratum.settings import PortSettings, StratumSettings
from sources.stratum.verifier import PendingSubmit

log = logging.getLogger("sources.stratum.door")

STATS_S = 0.5  # how often the door tells the gateway its counts ...
CHANGED_S = 0.05  # ... and how soon after its number of waiting connections changed
EXTRANONCE1_SIZE = 4


class DoorSession(Session):
    """A session at the door: the gateway's session until it would start mining; then it is handed over,
    with every line read after the login kept for the gateway."""

    __slots__ = ("handing", "unread")

    def __init__(self, port: DoorPort) -> None:
        super().__init__(port)
        self.handing = False
        self.unread: list[bytes] = []

    def handle_line(self, line: bytes) -> None:
        if self.handing:
            self.unread.append(line)
        else:
            super().handle_line(line)

    def start_mining(self) -> None:
        if self.handing:
            return
        self.handing = True
        self.stop_reading()
        port = self.port
        assert isinstance(port, DoorPort)
        port.door.hand_over(self)


class DoorPort(PortBase):
    """One listening port at the door; implements `contracts.Port` for sessions that have not logged in (its
    job book stays empty: no job before a login)."""

    def __init__(self, door: Door, settings: PortSettings) -> None:
        super().__init__(door.settings, settings, door.loop.time, door.admission, door.policy)
        self.door = door
        self.next_extranonce1 = door.next_extranonce1
        self.listener = Listener(functools.partial(DoorSession, self), door.admission.precheck,
                                 door.admission.strike)
        self.verify: Callable[[PendingSubmit], None] = self._no_verify
        self.rejected: Callable[[Connection, Worker | None, list[Any], str, Job | None], None] = self._forward

    def _no_verify(self, item: PendingSubmit) -> None:
        raise AssertionError("no submit is hashed before its connection logged in")

    def _forward(self, conn: Connection, worker: Worker | None, params: list[Any], reason: str,
                 job: Job | None) -> None:  # fmt: skip
        self.door.link.send(("rejected", self.algorithm.wire, conn.ip, conn.hardware, conn.difficulty,
                             params[:5], reason))  # fmt: skip

    def admit(self, conn: Connection) -> bool:
        if not self._admission.admit(conn):
            return False
        self.sessions.add(conn)
        self.door.changed()
        return True

    def adopt(self, conn: Connection) -> bool:
        raise AssertionError("the door takes no connection over")

    def release(self, conn: Connection) -> None:
        if conn in self.sessions:
            self.sessions.discard(conn)
            self._admission.release(conn)
            self.door.changed()

    def bucket_of(self, miner: str) -> int:
        return self.door.bucket_of(miner)


class Door:
    """The door's event loop side: ports, admission, the wire to the gateway."""

    def __init__(self, settings: StratumSettings, ctrl: socket.socket, extranonce1: int) -> None:
        self.settings = settings
        self.loop = asyncio.get_running_loop()
        self.admission = Admission(settings, self.loop.time, self.loop.call_soon)
        self.admission.on_ban = self._banned
        self.policy = CoinbasePolicy(EXTRANONCE1_SIZE, settings.extranonce2_size, settings.coinbase_tag.encode(),
                                     bytes.fromhex(settings.coinbase_script_hex))  # fmt: skip
        self._en1 = extranonce1
        self._buckets: dict[str, int] = {}
        self.ports = {ps.algorithm.wire: DoorPort(self, ps) for ps in settings.ports}
        self.stopped = asyncio.Event()
        self.link = Link(ctrl, self._on_message, self.stopped.set)
        self._sent: dict[tuple[int, tuple[tuple[str, str], ...]], float] = {}
        self._stats_soon: asyncio.TimerHandle | None = None

    def next_extranonce1(self) -> bytes:
        self._en1 = (self._en1 + 1) & 0xFFFFFFFF
        return self._en1.to_bytes(EXTRANONCE1_SIZE, "big")

    def bucket_of(self, miner: str) -> int:
        b = self._buckets.get(miner)
        if b is None:
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            b = self._buckets[miner] = partition_of(miner, self.settings.share_partitions)
        return b

    # -- handing over --------------------------------------------------------------------------------
    def hand_over(self, s: DoorSession) -> None:
        """`s` logged in (its answers are queued): send it to the gateway once this read is done."""
        self.loop.call_soon(self._send, s, self.loop.time() + self.settings.drain_timeout_s)

    def _send(self, s: DoorSession, deadline: float) -> None:
        if s.closed or s.closing or s.transport is None or self.link.closed:
            return
        if s.transport.get_write_buffer_size():  # the login answers first leave from here
            if self.loop.time() > deadline:
                s.shut("Not reading")
            else:
                self.loop.call_later(0.02, self._send, s, deadline)
            return
        sock = s.transport.get_extra_info("socket")
        tail = s._framer.buffered  # the unfinished line goes along
        unread = b"".join(line + b"\n" for line in s.unread) + tail
        handover = Handover(s.port.algorithm.wire, s.ip, s.extranonce1, s.user_agent, s.hardware, dict(s.workers),
                            s.difficulty, s._errors_left, s._errors_at, s._auth_left, s._auth_at,
                            unread)  # fmt: skip
        self.link.send(("adopt", handover), [sock.fileno()])
        self.admission.held_elsewhere(s.ip, 1)
        s.mining = True  # not "left before authorizing": no strike when the door lets go of it
        s.abort()  # the door's descriptor only: the gateway holds its own copy of the socket

    # -- messages from the gateway ---------------------------------------------------------------------
    def _on_message(self, message: tuple[Any, ...], fds: list[int]) -> None:
        for fd in fds:  # none expected this way
            os.close(fd)
        kind = message[0]
        if kind == "gone":
            for ip in message[1]:
                self.admission.held_elsewhere(ip, -1)
        elif kind == "ban":
            self.admission.apply_ban(*message[1:5])
        elif kind == "stop":
            self.stopped.set()

    def _banned(self, ip: str, seconds: float, reason: str, detail: str) -> None:
        self.link.send(("ban", ip, seconds, reason, detail))

    def changed(self) -> None:
        """The number of waiting connections changed: report it soon (coalesced)."""
        if self._stats_soon is None:
            self._stats_soon = self.loop.call_later(CHANGED_S, self._stats)

    def _stats(self) -> None:
        if self._stats_soon is not None:
            self._stats_soon.cancel()
            self._stats_soon = None
        totals = counter_totals()
        increases = [(i, labels, v - self._sent.get((i, labels), 0.0)) for (i, labels), v in totals.items()
                     if v != self._sent.get((i, labels), 0.0)]  # fmt: skip
        self._sent = totals
        waiting = {wire: len(p.sessions) for wire, p in self.ports.items()}
        self.link.send(("stats", waiting, increases))

    # -- running -----------------------------------------------------------------------------------------
    async def run(self, sockets: dict[str, list[socket.socket]]) -> None:
        for wire, port in self.ports.items():
            port.listener.start(sockets[wire])
        self.link.send(("ready",))
        s = self.settings
        interval = min(STATS_S, s.idle_timeout_s / 4, s.login_timeout_s / 4, s.line_timeout_s / 4)
        while not self.stopped.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), interval)
            self.sweep()
            self._stats()
        self.admission.closing = True
        for port in self.ports.values():
            port.listener.close()
            for conn in list(port.sessions):
                conn.close()
        self._stats()
        await asyncio.sleep(0.05)  # let the last packets leave
        self.link.close()

    def sweep(self) -> None:
        metrics.flush_log()
        sweep(self.admission, self.settings, self.loop.time(), [p.sessions for p in self.ports.values()])


def main(argv: list[str]) -> int:
    ctrl = socket.socket(fileno=int(argv[1]))
    data, fds, _, _ = socket.recv_fds(ctrl, MAX_PACKET, 0)
    if not data:
        return 0
    config = pickle.loads(data)
    settings: StratumSettings = config["settings"]
    logging.basicConfig(level=config["log_level"], stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s (door) %(message)s")  # fmt: skip
    with contextlib.suppress(OSError):
        os.nice(config["nice"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the gateway stops the door (Ctrl-C reaches both)
    sockets = {wire: [socket.socket(fileno=fd) for fd in fds] for wire, fds in config["listen"].items()}

    async def serve() -> None:
        door = Door(settings, ctrl, config["extranonce1"])
        await door.run(sockets)

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
