"""The line side of a miner connection: framing, buffered output, closing, and the per-connection limits.

`session.Session` adds the Stratum methods on top (it calls `handle_line` for every complete line). The
limits, each closing answered with a last JSON-RPC error, counted and logged by `metrics.refused`, and a
strike against the IP (`admission.Admission.strike`):

* a line longer than `max_line_bytes` (or an unterminated tail that long) closes at once;
* a line started but unfinished for `line_timeout_s` (slowloris) closes at the gateway's next sweep, as
  does no complete line for `idle_timeout_s` and a write buffer stuck full for `drain_timeout_s` (those
  through `Port.close_later`, in bounded batches);
* protocol errors (bad lines, unknown methods, bad params, failed authorizes, submits before authorizing)
  each answer with a JSON-RPC error and spend one of `max_errors`, refilled at `max_errors` per minute;
  the connection closes when none is left.

Nothing here holds a reference cycle, and the one asyncio's transport holds on CPython 3.11 is broken when
the connection is lost, so a closed connection is freed at once by reference counting, not by the cyclic
garbage collector (whose full passes stalled the event loop for 50-300 ms under connection floods).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sources.stratum import metrics
from sources.stratum import protocol as p
from sources.stratum.contracts import Port
from sources.stratum.protocol import StratumError


class LineConnection(asyncio.Protocol):
    """Newline-delimited JSON-RPC over one TCP connection, with its limits; `handle_line` is the subclass's."""

    __slots__ = ("port", "transport", "ip", "closed", "closing", "last_read", "partial_since",
                 "write_paused_since", "reading_paused", "_out", "_framer", "_errors_left", "_errors_at")  # fmt: skip

    def __init__(self, port: Port) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.ip = ""
        self.closed = False
        self.closing = False  # queued to be closed (`Port.close_later`): what it sends is dropped unread
        self.last_read = 0.0  # when the last complete line arrived
        self.partial_since = 0.0  # when the unfinished line now buffered began (0: none)
        self.write_paused_since = 0.0
        self.reading_paused = False
        self._out: list[bytes] = []
        self._framer = p.LineFramer(port.max_line_bytes)
        self._errors_left = float(port.max_errors)
        self._errors_at = 0.0

    def handle_line(self, line: bytes) -> None:
        raise NotImplementedError

    # -- transport callbacks ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else ""
        self.last_read = self.port.time()
        transport.set_write_buffer_limits(high=self.port.write_buffer_bytes)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        # CPython 3.11 (gh-100348, fixed in 3.12's close()): the selector transport keeps a bound method of
        # itself after it closed, a reference cycle per connection left to the cyclic collector. Drop it as
        # 3.12 does, so a closed connection's transport is freed at once by reference counting.
        if getattr(self.transport, "_read_ready_cb", None) is not None:
            setattr(self.transport, "_read_ready_cb", None)  # noqa: B010 - a private attribute, on purpose

    def pause_writing(self) -> None:
        self.write_paused_since = self.port.time()

    def resume_writing(self) -> None:
        self.write_paused_since = 0.0

    def data_received(self, data: bytes) -> None:
        if self.closed or self.closing:
            return
        now = self.port.time()
        try:
            lines = self._framer.feed(data)
        except p.LineTooLong:
            self.abusive("line_too_long", "Line too long")
            return
        if self._framer.tail:
            if lines or not self.partial_since:
                self.partial_since = now
        else:
            self.partial_since = 0.0
        if lines or not self.partial_since:
            self.last_read = now
        for line in lines:
            if self.closed or self.closing:  # closed by a limit or a ban: the rest of the read costs nothing
                break
            self.handle_line(line)
        self.flush()

    # -- output and closing -----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._out.append(data)

    def flush(self) -> None:
        if self._out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.flush()
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.closed = True
            self.transport.abort()

    def stop_reading(self) -> None:
        if self.transport is not None and not self.closed and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def shut(self, message: str) -> None:
        """Closed by a safety rule: a last JSON-RPC error saying why, then close (abort if the client does
        not even read that, so a connection that never reads cannot linger)."""
        if self.closed or self.transport is None:
            return
        self._out.append(p.error(None, StratumError.OTHER, message))
        self.flush()
        if self.transport.get_write_buffer_size():
            self.abort()
        else:
            self.close()

    def abusive(self, reason: str, message: str) -> None:
        """Close for abuse: counted, logged, a strike against the IP."""
        metrics.refused(reason, self.ip)
        self.shut(message)
        self.port.strike(self.ip, reason)

    # -- limits ----------------------------------------------------------------------------------
    def error(self, msg_id: Any, code: StratumError, message: str, reason: str) -> None:
        """Answer a protocol error (counted by reason) and spend one of the connection's errors."""
        self.write(p.error(msg_id, code, message))
        metrics.protocol_error(reason)
        self.spend_error()

    def spend_error(self) -> None:
        now = self.port.time()
        allowed = self.port.max_errors
        self._errors_left = min(allowed, self._errors_left + (now - self._errors_at) * allowed / 60.0) - 1
        self._errors_at = now
        if self._errors_left < 0:
            self.abusive("too_many_errors", f"Too many errors (more than {allowed} a minute)")

    def check_limits(self, idle_before: float, drain_before: float, line_before: float) -> bool:
        """Periodic (the gateway's sweep): close a line-dripping, idle or stuck-slow connection (through
        `Port.close_later`: a sweep can find many at once); True if it is closed or closing."""
        if self.closed or self.closing:
            return True
        if self.partial_since and self.partial_since < line_before:
            metrics.refused("line_timeout", self.ip)
            self.port.close_later(self, "Line not finished in time")
            self.port.strike(self.ip, "line_timeout")
        elif self.last_read < idle_before:
            metrics.refused("idle_timeout", self.ip)
            self.port.close_later(self, "Idle for too long")
        elif self.write_paused_since and self.write_paused_since < drain_before:
            metrics.refused("slow_client", self.ip)
            self.port.close_later(self, "Not reading")
        return self.closing
