"""The wire between the gateway and its door process (`door.py`, `door_link.py`): one `SOCK_SEQPACKET` Unix
socket pair, one pickled message per packet, a logged-in connection's socket passed along its message
(`SCM_RIGHTS`). Both ends are the same program on the same machine, started one by the other, so pickle is
safe here. Non-blocking both ways: what cannot be sent at once waits in order for the socket to drain.

Messages (tuples, first item the kind):

* gateway -> door: ``("ban", ip, seconds, reason, detail)``, ``("gone", [ip, ...])`` (connections handed
  over that closed), ``("stop",)``;
* door -> gateway: ``("adopt", Handover)`` with the connection's socket, ``("ban", ...)`` as above,
  ``("rejected", algorithm, ip, hardware, difficulty, params, reason)`` (a submit before logging in: still a
  share event), ``("stats", {algorithm: connections waiting}, [(counter, labels, increase), ...])``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from sources.stratum import metrics
from sources.stratum.identity import Worker

log = logging.getLogger(__name__)

MAX_PACKET = 1 << 20  # a handover carries at most a line limit of unread bytes
#: the door's counters the gateway adds to its own (what `/metrics` shows)
FORWARDED: tuple[Counter, ...] = (metrics.REFUSED, metrics.PROTOCOL_ERRORS, metrics.STRIKES, metrics.BANS)


@dataclass
class Handover:
    """A connection that subscribed and authorized at the door, as the gateway takes it on."""

    algorithm: str
    ip: str
    extranonce1: bytes
    user_agent: str
    hardware: str
    workers: dict[str, Worker]
    difficulty: float  # suggested (or the port's start difficulty)
    errors_left: float
    errors_at: float
    auth_left: float
    auth_at: float
    unread: bytes = b""  # lines read after the login, and an unfinished one: the gateway reads them first
    extra: dict[str, Any] = field(default_factory=dict)


def counter_totals() -> dict[tuple[int, tuple[tuple[str, str], ...]], float]:
    """Every child of the forwarded counters: (counter index, labels) -> total."""
    out: dict[tuple[int, tuple[tuple[str, str], ...]], float] = {}
    for i, counter in enumerate(FORWARDED):
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    out[(i, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def add_counts(increases: list[tuple[int, tuple[tuple[str, str], ...], float]]) -> None:
    """Add the door's counter increases to this process's counters."""
    for i, labels, amount in increases:
        if 0 <= i < len(FORWARDED) and amount > 0:
            FORWARDED[i].labels(**dict(labels)).inc(amount)


class Link:
    """One end of the pair, on the running loop: `on_message(message, fds)` for each packet received,
    `on_closed()` once when the other end is gone."""

    def __init__(self, sock: socket.socket, on_message: Callable[[tuple[Any, ...], list[int]], None],
                 on_closed: Callable[[], None]) -> None:  # fmt: skip
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        sock.setblocking(False)
        self._on_message = on_message
        self._on_closed = on_closed
        self._out: deque[tuple[bytes, list[int]]] = deque()
        self._writing = False
        self.closed = False
        self._loop.add_reader(sock.fileno(), self._readable)

    def send(self, message: tuple[Any, ...], fds: list[int] | None = None) -> None:
        """Queue `message` with copies of the descriptors `fds` (the caller may close its own at once: a
        message can wait for the socket to drain); the other process gets them when it is sent."""
        if self.closed:
            return
        self._out.append((pickle.dumps(message, pickle.HIGHEST_PROTOCOL), [os.dup(fd) for fd in fds or ()]))
        if not self._writing:
            self._write()

    def _write(self) -> None:
        while self._out:
            data, fds = self._out[0]
            try:
                socket.send_fds(self._sock, [data], fds) if fds else self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                if not self._writing:
                    self._writing = True
                    self._loop.add_writer(self._sock.fileno(), self._write)
                return
            except OSError as exc:
                log.error("stratum door wire: send failed: %r", exc)
                self._lost()
                return
            for fd in self._out.popleft()[1]:
                os.close(fd)
        if self._writing:
            self._writing = False
            self._loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        for _ in range(256):
            try:
                data, fds, _, _ = socket.recv_fds(self._sock, MAX_PACKET, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.error("stratum door wire: receive failed: %r", exc)
                self._lost()
                return
            if not data:
                self._lost()
                return
            try:
                message = pickle.loads(data)
            except Exception:  # noqa: BLE001 - a broken packet must not take the wire down
                log.exception("stratum door: unreadable message (%d bytes)", len(data))
                for fd in fds:
                    with contextlib.suppress(OSError):
                        socket.close(fd)
                continue
            self._on_message(message, fds)

    def _lost(self) -> None:
        if self.closed:
            return
        self.close()
        self._on_closed()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._sock.fileno())
            if self._writing:
                self._loop.remove_writer(self._sock.fileno())
        self._sock.close()
        for _, fds in self._out:
            for fd in fds:
                os.close(fd)
        self._out.clear()
