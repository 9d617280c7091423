"""Who is mining: the ONE address rule and the ONE worker rule, used by the gateway, the kernels and the API.

Two levels of the same rule:

* `valid_address` — what the pipeline (numba kernel `kernels.share_checks`) and the API accept from any
  source: 20-100 ASCII letters and digits. It covers base58 (Bitcoin, Litecoin, Dogecoin), bech32 (bc1…,
  ltc1…) and Monero's 95-character base58.
* `address_coin` — what the Stratum gateway accepts on a port: the syntax of a coin mined with that
  algorithm (prefix, charset, length), no checksum, no network lookup. Every address it accepts also
  passes `valid_address` (so a share the gateway took is never rejected later as `bad_address`), and it
  says which coin the address belongs to, recorded with every share.

Worker names: 0-64 characters of letters, digits, `_`, `-` and `.` (the Stratum user `address.worker`
splits at the first dot; the rest, dots included, is the worker).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from schemas.algorithms import Algorithm

ADDRESS_MIN_LEN = 20
ADDRESS_MAX_LEN = 100
WORKER_MAX_LEN = 64

_ADDRESS = re.compile(rf"[A-Za-z0-9]{{{ADDRESS_MIN_LEN},{ADDRESS_MAX_LEN}}}")
_WORKER = re.compile(rf"[A-Za-z0-9_.\-]{{0,{WORKER_MAX_LEN}}}")

BASE58 = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
BECH32 = frozenset("qpzry9x8gf2tvdw0s3jn54khce6mua7l")


@dataclass(frozen=True)
class CoinAddressRule:
    """The address syntax of one coin: bech32 human-readable parts and base58 leading characters
    (mainnet, testnet and regtest forms)."""

    coin: str
    algorithm: Algorithm
    bech32_hrps: tuple[str, ...]
    base58_leads: frozenset[str]


#: In order of precedence: where two coins share a form (testnet `m…`/`n…`/`2…`), the first one wins.
COIN_RULES: tuple[CoinAddressRule, ...] = (
    CoinAddressRule("BTC", Algorithm.SHA256D, ("bc", "tb", "bcrt"), frozenset("13mn2")),
    CoinAddressRule("LTC", Algorithm.SCRYPT, ("ltc", "tltc", "rltc"), frozenset("LM3Qmn2")),
    CoinAddressRule("DOGE", Algorithm.SCRYPT, (), frozenset("DA9")),
)

COINS_BY_ALGORITHM: dict[Algorithm, tuple[str, ...]] = {
    a: tuple(r.coin for r in COIN_RULES if r.algorithm is a) for a in Algorithm
}


class IdentityError(ValueError):
    """The Stratum user name is not `address[.worker]` with a well-formed address and worker."""


def valid_address(address: str) -> bool:
    """The pipeline's and the API's rule (any coin)."""
    return _ADDRESS.fullmatch(address) is not None


def valid_worker(worker: str) -> bool:
    return _WORKER.fullmatch(worker) is not None


def _matches(address: str, rule: CoinAddressRule) -> bool:
    lowered = address.lower()
    hrp, sep, data = lowered.rpartition("1")
    if sep and hrp in rule.bech32_hrps:
        if address not in (lowered, address.upper()):  # bech32 forbids mixed case
            return False
        return len(address) <= 90 and len(data) >= 6 + 8 and all(c in BECH32 for c in data)
    return 25 <= len(address) <= 35 and address[0] in rule.base58_leads and all(c in BASE58 for c in address)


def address_coin(address: str, algorithm: Algorithm) -> str | None:
    """The coin (`BTC`, `LTC`, `DOGE`) whose address syntax `address` has among the coins mined with
    `algorithm`, or None if it is no such address. Implies `valid_address`."""
    if not valid_address(address):
        return None
    for rule in COIN_RULES:
        if rule.algorithm is algorithm and _matches(address, rule):
            return rule.coin
    return None


def is_valid_address(address: str, algorithm: Algorithm) -> bool:
    return address_coin(address, algorithm) is not None


@dataclass(frozen=True)
class Identity:
    address: str
    worker: str
    coin: str


def parse_user(user: object, algorithm: Algorithm) -> Identity:
    """`address.worker` or a bare address (worker ``""``); raises `IdentityError` saying what is wrong."""
    if not isinstance(user, str) or not user.strip():
        raise IdentityError("user must be a non-empty string 'address.worker'")
    address, _, worker = user.strip().partition(".")
    coin = address_coin(address, algorithm)
    if coin is None:
        coins = "/".join(COINS_BY_ALGORITHM.get(algorithm, ())) or "no coin"
        raise IdentityError(f"{address[:100]!r} is not a valid {algorithm.wire} payout address ({coins})")
    if not valid_worker(worker):
        raise IdentityError(f"worker name must be at most {WORKER_MAX_LEN} characters of A-Z a-z 0-9 _ - .")
    return Identity(address, worker, coin)


#: A federation peer's id (a Stratum gateway's `STRATUM_GATEWAY_ID`) or region: at most 64 of the worker
#: name's characters, so it fits every text column and URL path unescaped.
_LABEL = re.compile(rf"[A-Za-z0-9_.\-]{{0,{WORKER_MAX_LEN}}}")


def valid_label(text: str) -> bool:
    return _LABEL.fullmatch(text) is not None


def host_label() -> str:
    """This host's name as a valid label (the default gateway id / federation node id)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", socket.gethostname())[:WORKER_MAX_LEN]
    return name or "gateway"
