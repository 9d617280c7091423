"""Stratum V1 wire format: newline framing with a line-length cap, JSON-RPC requests, responses,
notifications and the Stratum error triplets `[code, "message", null]`."""

from __future__ import annotations

import enum
from typing import Any

import msgspec


class StratumError(enum.IntEnum):
    """Stratum V1 error codes (DOMAIN.md); the message is what miners log."""

    OTHER = 20
    JOB_NOT_FOUND = 21
    DUPLICATE = 22
    LOW_DIFFICULTY = 23
    UNAUTHORIZED = 24
    NOT_SUBSCRIBED = 25


class LineTooLong(Exception):
    """A line (or an unterminated tail) exceeded the configured maximum length."""


class LineFramer:
    """Splits a byte stream into lines. Keeps at most `max_line` bytes of an unterminated tail."""

    __slots__ = ("_buf", "max_line")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = b""

    @property
    def tail(self) -> int:
        """Bytes of an unfinished line buffered (0: none)."""
        return len(self._buf)

    @property
    def buffered(self) -> bytes:
        """The unfinished line buffered (handed over with its connection: `door.py`)."""
        return self._buf

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines in `data` (without newline, blank ones dropped); raises `LineTooLong`."""
        buf = self._buf + data if self._buf else data
        if b"\n" not in buf:
            if len(buf) > self.max_line:
                self._buf = b""
                raise LineTooLong(len(buf))
            self._buf = buf
            return []
        *lines, tail = buf.split(b"\n")
        if len(tail) > self.max_line:
            self._buf = b""
            raise LineTooLong(len(tail))
        self._buf = tail
        out = []
        for line in lines:
            if len(line) > self.max_line:
                raise LineTooLong(len(line))
            line = line.strip()
            if line:
                out.append(line)
        return out


class Request(msgspec.Struct, omit_defaults=True):
    """An incoming JSON-RPC message; `id` may be any JSON value (miners use ints and strings)."""

    method: str = ""
    params: Any = msgspec.field(default_factory=list)
    id: Any = None


_decoder = msgspec.json.Decoder(Request)
_encoder = msgspec.json.Encoder()


class MalformedMessage(ValueError):
    """A line that is not a JSON-RPC request object."""


def decode_request(line: bytes) -> Request:
    """The request on one (stripped) line; raises `MalformedMessage`. Anything not starting like a JSON
    object is refused before the JSON decoder sees it."""
    if line[:1] != b"{":
        raise MalformedMessage("not a JSON object")
    try:
        req = _decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedMessage(str(exc)) from None
    if not req.method:
        raise MalformedMessage("missing method")
    return req


def result(msg_id: Any, value: Any) -> bytes:
    return _encoder.encode({"id": msg_id, "result": value, "error": None}) + b"\n"


def error(msg_id: Any, code: StratumError, message: str) -> bytes:
    return _encoder.encode({"id": msg_id, "result": None, "error": [int(code), message, None]}) + b"\n"


def notification(method: str, params: list[Any]) -> bytes:
    return _encoder.encode({"id": None, "method": method, "params": params}) + b"\n"


# Pre-encoded hot responses (the submit path answers these most).
ACCEPTED_TEMPLATE = b'{"id":%s,"result":true,"error":null}\n'


def accepted(msg_id: Any) -> bytes:
    return ACCEPTED_TEMPLATE % _encoder.encode(msg_id)
