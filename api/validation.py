"""Input rules shared by the endpoints (one function per rule, so every endpoint says the same thing)."""

from __future__ import annotations

import re

from api.errors import InvalidRequest

#: A miner address: ASCII letters and digits only, 20 to 100 characters (covers base58, bech32, hex bodies).
ADDRESS_RE = re.compile(r"[A-Za-z0-9]{20,100}")


def is_valid_address(address: str) -> bool:
    return ADDRESS_RE.fullmatch(address) is not None


def require_address(address: str) -> str:
    """The address itself, or `InvalidRequest` saying what a well-formed address looks like."""
    if not is_valid_address(address):
        raise InvalidRequest(
            "miner address must be 20-100 ASCII letters or digits",
            details={"address": address[:120]},
        )
    return address
