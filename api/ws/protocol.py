"""The messages of `/api/ws` and its channels: what a client may send, what it receives, who may subscribe.

Client -> server (JSON text frames): `{"type": "auth", "token": "<API key or JWT>"}`,
`{"type": "subscribe", "channels": [...]}`, `{"type": "unsubscribe", "channels": [...]}`, `{"type": "ping"}`.
Server -> client: the seed's pushes `{"type": "stats" | "block" | "miner" | "hardware" | "federation",
"data": {...}}` (a miner push also says its `channel`), `alert` on `hardware` (an alert opened or cleared, the
`GET /api/v1/alerts` item), the answers `auth`, `subscribed`, `unsubscribed`,
`pong`, and `{"type": "error", "error": {"code", "message", "details"}}` with the REST error codes.

Channels and access (the same rule as the REST resource each one mirrors): `stats`, `blocks`, `federation`
and `miner:ADDRESS` are public (like GET /stats, /blocks, /federation/status, /miners/{address});
`hardware` needs the `read` permission (send `auth` first, or connect with `Authorization: Bearer`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from api.envelope import ErrorBody, ErrorCode
from api.security import Permission, Principal
from schemas.identity import valid_address

STATS, BLOCKS, HARDWARE, FEDERATION = "stats", "blocks", "hardware", "federation"
MINER_PREFIX = "miner:"
CHANNELS = (STATS, BLOCKS, HARDWARE, FEDERATION, MINER_PREFIX + "ADDRESS")
#: channel -> the permission a subscriber needs (absent: public)
REQUIRED: dict[str, Permission] = {HARDWARE: Permission.READ}
MAX_MESSAGE_CHARS = 8_192  # a longer inbound frame is refused (the longest valid one is far shorter)
MAX_CHANNELS = 64  # subscriptions per connection (miner channels included)


class ClientMessage(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    token: str | None = None
    channels: list[str] | None = None


_decode = msgspec.json.Decoder(ClientMessage)
_encode = msgspec.json.Encoder()


class ProtocolError(Exception):
    """An inbound message the server answers with an `error` message (the connection stays open)."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.body = ErrorBody(code=code, message=message, details=details)


def parse(frame: str | bytes) -> ClientMessage:
    """One inbound frame as a message; raises `ProtocolError` (INVALID_REQUEST) saying what is wrong."""
    if len(frame) > MAX_MESSAGE_CHARS:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        return _decode.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"not a valid message: {str(exc)[:200]}",
                            expected='{"type": "auth" | "subscribe" | "unsubscribe" | "ping", ...}') from None


def channel_of(name: object) -> str:
    """The channel `name` names, validated (a miner channel's address by `schemas.identity`)."""
    if not isinstance(name, str):
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "a channel is a string", channel=repr(name)[:100])
    if name in (STATS, BLOCKS, HARDWARE, FEDERATION):
        return name
    if name.startswith(MINER_PREFIX):
        address = name[len(MINER_PREFIX):]
        if valid_address(address):
            return name
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "malformed miner address (20-100 letters and digits)",
                            channel=name[:120])
    raise ProtocolError(ErrorCode.INVALID_REQUEST, f"unknown channel {name[:100]!r}", channels=list(CHANNELS))


def check_access(channel: str, caller: Principal) -> None:
    """UNAUTHORIZED / FORBIDDEN (as `ProtocolError`) if `caller` may not subscribe to `channel`."""
    needed = REQUIRED.get(channel)
    if needed is None or caller.has(needed):
        return
    code = ErrorCode.FORBIDDEN if caller.authenticated else ErrorCode.UNAUTHORIZED
    hint = "" if caller.authenticated else ': send {"type": "auth", "token": "<API key or JWT>"} first'
    raise ProtocolError(code, f"channel {channel!r} needs the {needed} permission{hint}", channel=channel,
                        required_permission=str(needed))


# ---- server -> client ------------------------------------------------------------------------------------


class Push(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str
    data: Any
    channel: str | None = None  # set on miner pushes (which address)


class StatsData(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `stats` push."""

    hashrate: float  # H/s, the pool's 10-minute total
    miners: int
    difficulty: float  # the network difficulty of the pool's latest shares (largest over its coins)
    workers: int = 0
    updated_at: dt.datetime | None = None


class BlockData(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `block` push: a block the pool found."""

    height: int
    hash: str
    reward: float  # coin units, as the seed shows; exact in `reward_base_units` / `reward_str`
    currency: str
    reward_base_units: int
    reward_str: str
    found_at: dt.datetime
    found_by: str
    algorithm: str
    status: str


class MinerData(msgspec.Struct, frozen=True, kw_only=True):
    """Seed `miner` push for `miner:ADDRESS`."""

    address: str
    hashrate: float  # H/s over the last 10 minutes, summed over algorithms
    balance: float  # 0 until the ledger exists (issue 9)
    shares_accepted: int  # last 24 h
    shares_rejected: int  # last 24 h, stale included
    last_share: dt.datetime | None


class Answer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str
    data: Any = None
    channels: list[str] | None = None


class ErrorMessage(msgspec.Struct, frozen=True, kw_only=True):
    type: str = "error"
    error: ErrorBody


def encode(message: Push | Answer | ErrorMessage) -> str:
    return _encode.encode(message).decode()


def error(body: ErrorBody) -> str:
    return encode(ErrorMessage(error=body))
