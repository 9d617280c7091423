"""The Block event on the `blocks` topic: a candidate found by a share, later confirmed or orphaned."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.algorithms import MAX_DIFFICULTY
from schemas.identity import ADDRESS_MAX_LEN, WORKER_MAX_LEN
from schemas.rows import TS_MAX_MS, TS_MIN_MS
from schemas.untrusted import JSON_ERRORS

BLOCK_VERSION = 1
READABLE_VERSIONS = (1,)

Short = Annotated[str, msgspec.Meta(max_length=32)]
Text = Annotated[str, msgspec.Meta(max_length=256)]
Difficulty = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_DIFFICULTY)]


class DecodeError(ValueError):
    """A message on the `blocks` topic that is not a valid block event."""


class Block(msgspec.Struct, frozen=True, kw_only=True):
    """A block event. `reward` is an integer in the coin's base unit (satoshi, litoshi); never a float.

    `status` is ``found`` (a share met the network target), ``confirmed`` or ``orphaned``. The bounds are
    checked when an event is decoded: every value fits its column of the `blocks` table (one that did not
    would fail the INSERT on every retry), texts are short, `hash` is 64 hex digits.
    """

    ts: Annotated[int, msgspec.Meta(ge=TS_MIN_MS, le=TS_MAX_MS)]  # ms since the Unix epoch, UTC
    algorithm: Short
    height: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    hash: Annotated[str, msgspec.Meta(pattern="^[0-9a-fA-F]{64}$")]
    miner: Annotated[str, msgspec.Meta(max_length=ADDRESS_MAX_LEN)]
    worker: Annotated[str, msgspec.Meta(max_length=WORKER_MAX_LEN)] = ""
    coin: Short = ""
    reward: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0  # within int64: msgspec bounds are int64
    network_difficulty: Difficulty = 0.0
    share_difficulty: Difficulty = 0.0
    status: Literal["found", "confirmed", "orphaned"] = "found"
    job_id: Text = ""
    header_hex: Annotated[str, msgspec.Meta(max_length=1024, pattern="^[0-9a-fA-F]*$")] = ""
    v: int = BLOCK_VERSION


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Block)


def encode_block(block: Block) -> bytes:
    return _encoder.encode(block)


def decode_block(data: bytes) -> Block:
    """One block event (a JSON object). Raises `DecodeError` with the reason."""
    try:
        block = _decoder.decode(data)
    except JSON_ERRORS as exc:
        raise DecodeError(f"invalid block event: {type(exc).__name__}: {str(exc)[:200]}") from None
    if block.v not in READABLE_VERSIONS:
        raise DecodeError(f"unsupported block version {block.v} (this build reads {READABLE_VERSIONS})")
    return block
