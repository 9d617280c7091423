"""Reason codes for rejected shares: one byte in kernels, a stable name on topics, in ClickHouse and the API."""

from __future__ import annotations

import enum


class Reason(enum.IntEnum):
    ACCEPTED = 0
    MALFORMED = 1  # the message could not be decoded at all
    BAD_DIFFICULTY = 2  # difficulty not positive and finite
    TIME_SKEW = 3  # timestamp outside the allowed skew
    BAD_ADDRESS = 4  # miner address not well-formed
    BAD_WORKER = 5  # worker name not well-formed
    UNKNOWN_ALGORITHM = 6
    DUPLICATE = 7  # same job/extranonce2/ntime/nonce seen within the window
    STALE = 8  # reported by the gateway: job no longer valid
    LOW_DIFFICULTY = 9  # reported by the gateway: hash above the share target
    INVALID = 10  # reported by the gateway: other invalid submit
    UNAUTHORIZED = 11  # reported by the gateway

    @property
    def wire(self) -> str:
        return self.name.lower()

    @classmethod
    def from_wire(cls, name: str) -> Reason:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            return cls.INVALID


REASON_NAMES: tuple[str, ...] = tuple(r.wire for r in Reason)
