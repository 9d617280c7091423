"""Input rules shared by the endpoints (one function per rule, so every endpoint says the same thing)."""

from __future__ import annotations

from api.errors import InvalidRequest
from schemas.identity import ADDRESS_MAX_LEN, ADDRESS_MIN_LEN, valid_address

# The pipeline's rule (schemas.identity): what the share checks accept is what the API accepts.
is_valid_address = valid_address


def require_address(address: str) -> str:
    """The address itself, or `InvalidRequest` saying what a well-formed address looks like."""
    if not is_valid_address(address):
        raise InvalidRequest(
            f"miner address must be {ADDRESS_MIN_LEN}-{ADDRESS_MAX_LEN} ASCII letters or digits",
            details={"address": address[:120]},
        )
    return address
