"""Who is mining: `address.worker` parsing, a syntactic address check per coin, password rules
(`d=0.01`), and the hardware hint taken from a miner's user agent."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from schemas.algorithms import Algorithm

BASE58 = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
BECH32 = frozenset("qpzry9x8gf2tvdw0s3jn54khce6mua7l")

#: Bech32 human-readable parts and base58 leading characters per algorithm's coin family
#: (SHA256d: Bitcoin mainnet/testnet/regtest; scrypt: Litecoin mainnet/testnet).
BECH32_HRPS: dict[Algorithm, tuple[str, ...]] = {
    Algorithm.SHA256D: ("bc", "tb", "bcrt"),
    Algorithm.SCRYPT: ("ltc", "tltc", "rltc"),
}
BASE58_LEADS: dict[Algorithm, frozenset[str]] = {
    Algorithm.SHA256D: frozenset("13mn2"),
    Algorithm.SCRYPT: frozenset("LM3mnQ2"),
}
_WORKER = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class IdentityError(ValueError):
    """The Stratum user name is not `address[.worker]` with a well-formed address."""


def is_valid_address(address: str, algorithm: Algorithm) -> bool:
    """A sane syntactic check (charset, length, prefix); no checksum, no network lookup."""
    lowered = address.lower()
    hrp, sep, data = lowered.rpartition("1")
    if sep and hrp in BECH32_HRPS.get(algorithm, ()):
        if address not in (lowered, address.upper()):  # bech32 forbids mixed case
            return False
        return 14 <= len(address) <= 90 and len(data) >= 6 + 8 and all(c in BECH32 for c in data)
    return (
        25 <= len(address) <= 35
        and address[0] in BASE58_LEADS.get(algorithm, frozenset())
        and all(c in BASE58 for c in address)
    )


@dataclass(frozen=True)
class Identity:
    address: str
    worker: str


def parse_user(user: object, algorithm: Algorithm) -> Identity:
    """`address.worker` or a bare address (worker ``""``); raises `IdentityError` saying what is wrong."""
    if not isinstance(user, str) or not user.strip():
        raise IdentityError("user must be a non-empty string 'address.worker'")
    address, _, worker = user.strip().partition(".")
    if not is_valid_address(address, algorithm):
        raise IdentityError(f"{address[:100]!r} is not a valid {algorithm.wire} payout address")
    if worker and not _WORKER.match(worker):
        raise IdentityError("worker name must be 1-64 characters of A-Z a-z 0-9 _ -")
    return Identity(address, worker)


def requested_difficulty(password: object) -> float | None:
    """The start difficulty asked for in the password (`d=0.01`, also `x,d=8` or `sd=8`), else None."""
    if not isinstance(password, str):
        return None
    for part in re.split(r"[,;\s]+", password):
        key, eq, value = part.partition("=")
        if eq and key.strip().lower() in ("d", "sd", "diff", "difficulty"):
            try:
                d = float(value)
            except ValueError:
                return None
            return d if math.isfinite(d) and d > 0 else None
    return None


_ASIC = ("cgminer", "bmminer", "antminer", "bfgminer", "whatsminer", "btminer", "avalon", "braiins",
         "bosminer", "luxminer", "vnish", "innosilicon")
_GPU = ("gpu", "ethminer", "teamredminer", "lolminer", "sgminer", "nbminer", "t-rex", "gminer", "ccminer",
        "bzminer", "srbminer", "nanominer")
_CPU = ("cpuminer", "minerd", "xmrig", "cpu")


def hardware_hint(user_agent: str) -> str:
    """``asic``, ``gpu``, ``cpu`` or ``""`` from the user agent sent with `mining.subscribe`."""
    ua = user_agent.lower()
    if any(k in ua for k in _ASIC):
        return "asic"
    if any(k in ua for k in _GPU):
        return "gpu"
    if any(k in ua for k in _CPU):
        return "cpu"
    return ""
