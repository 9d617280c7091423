"""The Block event on the `blocks` topic: a candidate found by a share, later confirmed or orphaned."""

from __future__ import annotations

import msgspec

BLOCK_VERSION = 1


class Block(msgspec.Struct, frozen=True, kw_only=True):
    """A block event. `reward` is an integer in the coin's base unit (satoshi, litoshi); never a float.

    `status` is ``found`` (a share met the network target), ``confirmed`` or ``orphaned``.
    """

    ts: int  # ms since the Unix epoch, UTC
    algorithm: str
    height: int
    hash: str
    miner: str
    worker: str = ""
    coin: str = ""
    reward: int = 0
    network_difficulty: float = 0.0
    share_difficulty: float = 0.0
    status: str = "found"
    job_id: str = ""
    header_hex: str = ""
    v: int = BLOCK_VERSION


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Block)


def encode_block(block: Block) -> bytes:
    return _encoder.encode(block)


def decode_block(data: bytes) -> Block:
    return _decoder.decode(data)
