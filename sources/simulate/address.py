"""Miner addresses and worker names for simulated fleets.

Addresses are real, checksummed bech32 P2WPKH addresses (BIP 173): `bc1q` + 38 lowercase characters for
the default human-readable part, built from seeded random 20-byte key hashes. Nobody holds their keys;
they are well-formed, which is all the pipeline can check.
"""

from __future__ import annotations

import numpy as np

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _GENERATOR[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _to_5bit(data: bytes) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def segwit_v0_address(hrp: str, program: bytes) -> str:
    """The bech32 address of a version-0 witness program (20 bytes: P2WPKH, 32 bytes: P2WSH)."""
    if len(program) not in (20, 32):
        raise ValueError("a v0 witness program is 20 or 32 bytes")
    data = [0, *_to_5bit(program)]
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def bech32_verify(address: str) -> bool:
    """True if `address` is a bech32 string with a valid checksum (tests and sanity checks)."""
    if address.lower() != address:
        return False
    hrp, sep, rest = address.rpartition("1")
    if not sep or not hrp or len(rest) < 6 or any(c not in BECH32_CHARSET for c in rest):
        return False
    return _polymod(_hrp_expand(hrp) + [BECH32_CHARSET.index(c) for c in rest]) == 1


def miner_addresses(count: int, rng: np.random.Generator, hrp: str = "bc") -> list[str]:
    """`count` distinct P2WPKH addresses drawn from `rng` (deterministic for a seeded generator)."""
    programs = rng.integers(0, 256, size=(count, 20), dtype=np.uint8)
    addresses = [segwit_v0_address(hrp, row.tobytes()) for row in programs]
    if len(set(addresses)) != count:  # 2^-160 odds; never silently merge two miners
        raise RuntimeError("address collision")
    return addresses


def worker_names(count: int) -> list[str]:
    """`rig-0001`, `rig-0002`, ... (the same names under every miner, as on real farms)."""
    return [f"rig-{i:04d}" for i in range(1, count + 1)]
