"""Bitcoin-family block-building helpers in plain Python: the coinbase split around the extranonces
(coinb1 / coinb2, BIP34 height push), the merkle branch of the coinbase, the Stratum prevhash encoding and
the full serialized block for `submitblock`. Verification of submits happens in batch kernels instead."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def push_data(data: bytes) -> bytes:
    """A script push of `data` (direct push up to 75 bytes, OP_PUSHDATA1 up to 255)."""
    if len(data) <= 75:
        return bytes([len(data)]) + data
    if len(data) <= 255:
        return b"\x4c" + bytes([len(data)]) + data
    raise ValueError("push_data: at most 255 bytes")


def script_number(n: int) -> bytes:
    """Minimal CScriptNum encoding (little-endian, sign bit in the top byte)."""
    if n == 0:
        return b""
    neg, v = n < 0, abs(n)
    out = bytearray()
    while v:
        out.append(v & 0xFF)
        v >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def height_push(height: int) -> bytes:
    """BIP34: the block height as the first item of the coinbase scriptSig (`CScript() << height`)."""
    if height < 0:
        raise ValueError("height must be >= 0")
    if height == 0:
        return b"\x00"
    if height <= 16:
        return bytes([0x50 + height])
    return push_data(script_number(height))


def tx_output(value: int, script: bytes) -> bytes:
    return struct.pack("<q", value) + varint(len(script)) + script


def split_coinbase(
    height: int, extranonce_size: int, tag: bytes, outputs: Sequence[tuple[int, bytes]]
) -> tuple[bytes, bytes]:
    """(coinb1, coinb2) of a one-input coinbase whose scriptSig is
    `height ‖ push(extranonce1 ‖ extranonce2) ‖ push(tag)`; the miner inserts the extranonces between them.
    """
    if not 1 <= extranonce_size <= 75:
        raise ValueError("extranonce_size must be in 1..75")
    hpush = height_push(height)
    tail = push_data(tag)
    script_len = len(hpush) + 1 + extranonce_size + len(tail)
    if not 2 <= script_len <= 100:
        raise ValueError(f"coinbase scriptSig would be {script_len} bytes (consensus: 2..100)")
    coinb1 = (
        struct.pack("<i", 1)  # tx version
        + b"\x01"  # one input
        + b"\x00" * 32
        + b"\xff\xff\xff\xff"  # the null outpoint
        + varint(script_len)
        + hpush
        + bytes([extranonce_size])  # push opcode for extranonce1 ‖ extranonce2
    )
    outs = b"".join(tx_output(v, s) for v, s in outputs)
    coinb2 = tail + b"\xff\xff\xff\xff" + varint(len(outputs)) + outs + b"\x00\x00\x00\x00"
    return coinb1, coinb2


def merkle_branch(txids: Sequence[bytes]) -> list[bytes]:
    """The hashes a miner folds into sha256d(coinbase) to reach the merkle root (txids in internal order,
    coinbase excluded)."""
    branch: list[bytes] = []
    level = list(txids)  # the nodes at this depth, left of which sits the coinbase path
    while level:
        branch.append(level[0])
        rest = level[1:]
        if len(rest) % 2:
            rest.append(rest[-1])
        level = [sha256d(rest[i] + rest[i + 1]) for i in range(0, len(rest), 2)]
    return branch


def merkle_root(coinbase_hash: bytes, branch: Sequence[bytes]) -> bytes:
    root = coinbase_hash
    for h in branch:
        root = sha256d(root + h)
    return root


def swap_words(data: bytes) -> bytes:
    """Byte-reverse each 4-byte word: raw header prevhash <-> Stratum `mining.notify` prevhash."""
    return b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))


def header(version: int, prevhash_raw: bytes, root: bytes, ntime: int, nbits: int, nonce: int) -> bytes:
    return struct.pack("<I", version) + prevhash_raw + root + struct.pack("<III", ntime, nbits, nonce)


def witness_coinbase(legacy: bytes) -> bytes:
    """The segwit serialization of a legacy-serialized coinbase, with the 32-zero-byte reserved value."""
    return legacy[:4] + b"\x00\x01" + legacy[4:-4] + b"\x01\x20" + b"\x00" * 32 + legacy[-4:]


def serialize_block(header80: bytes, coinbase: bytes, tx_data_hex: Sequence[str]) -> str:
    """The hex block for `submitblock`: header, transaction count, coinbase, then the node's transactions."""
    body = b"".join(bytes.fromhex(t) for t in tx_data_hex)
    return (header80 + varint(1 + len(tx_data_hex)) + coinbase + body).hex()
