"""Stratum-only identity rules: the start difficulty a miner asks for in its password (`d=0.01`).

The address and worker rules live in `schemas.identity`, the hardware hint in `schemas.hardware`."""

from __future__ import annotations

import math
import re


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
