"""Who mines on a connection: `Worker` (an authorized `address.worker`, its coin and its share partition)
and the one Stratum-only identity rule, the start difficulty a miner asks for in its password (`d=0.01`).

The address and worker rules live in `schemas.identity`, the hardware hint in `schemas.hardware`."""

from __future__ import annotations

import math
import re


class Worker:
    """An `address.worker` authorized on a connection. `coin` is the coin its address belongs to (`BTC`,
    `LTC`, `DOGE`; ``""`` for a user that never authorized); `bucket` is the partition of its shares."""

    __slots__ = ("miner", "worker", "coin", "bucket")

    def __init__(self, miner: str, worker: str, coin: str, bucket: int) -> None:
        self.miner = miner
        self.worker = worker
        self.coin = coin
        self.bucket = bucket


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
