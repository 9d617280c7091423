"""Periods and rules of the SFR batches (issue 11): which daily/monthly run a time belongs to, which mining
settlement periods are closed, the mining work shares, and the bounded target-price adjustment. Pure, UTC.

- Daily run of day D: key `daily:D` (batch id `daily_YYYYMMDD`). Monthly run at any time of month M covers the
  closed month M-1: key `monthly:YYYY-MM` of M-1 (batch id `monthly_YYYYMM`).
- Mining periods are aligned to the Unix epoch (UTC hours or days). A period [start, end) is closed when
  end + grace <= now; only closed periods within `lookback_s` are returned, oldest first.
- `work_metrics`: each miner's Σ difficulty and the pool's (the exact sum of every miner's, registered or not)
  as exact decimal strings, so minerDifficulty / poolDifficulty sums to exactly 1 over the pool.
- `adjusted_target`: the daily factor adjustment moves the target price toward the mean market price by at
  most `max_bps` / 10^4 of the current target, never past the mean; 4 decimal places, rounded toward the
  current target (a move is never larger than allowed). max_bps 0 (the default) keeps the target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

from schemas.sfr import FACTOR_QUANTUM

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def daily_run(at: dt.datetime) -> tuple[str, str]:
    """(run key, batch id) of the daily run covering `at`."""
    day = utc(at).date()
    return f"daily:{day.isoformat()}", f"daily_{day:%Y%m%d}"


def previous_month(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the calendar month before the one of `at`."""
    end = utc(at).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - dt.timedelta(days=1)).replace(day=1)
    return start, end


def monthly_run(at: dt.datetime) -> tuple[str, str]:
    """(run key, batch id) of the monthly run due at `at`: the closed month before it."""
    start, _ = previous_month(at)
    return f"monthly:{start:%Y-%m}", f"monthly_{start:%Y%m}"


def closed_periods(now: dt.datetime, period_s: int, grace_s: float, lookback_s: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The closed settlement periods [start, end) whose start lies within `lookback_s` before `now`."""
    if period_s <= 0 or grace_s < 0:
        raise ValueError("period_s must be positive and grace_s non-negative")
    now_s = (utc(now) - EPOCH).total_seconds()
    last_end = int((now_s - grace_s) // period_s) * period_s  # newest closed period ends here
    first_start = int(-(-(now_s - lookback_s) // period_s)) * period_s  # ceil: whole periods only
    return [(EPOCH + dt.timedelta(seconds=s), EPOCH + dt.timedelta(seconds=s + period_s))
            for s in range(first_start, last_end - period_s + 1, period_s)]


def exact(value: float | int | Decimal) -> Decimal:
    """A measured figure as the decimal it prints as (a float by its shortest repr: 0.1 is 0.1)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def work_metrics(work: Mapping[str, float | int | Decimal]) -> tuple[dict[str, str], str]:
    """({miner: its Σ difficulty}, the pool's Σ difficulty) as exact decimal strings (positive work only)."""
    mine = {miner: exact(value) for miner, value in work.items()}
    if any(not v.is_finite() or v < 0 for v in mine.values()):
        raise ValueError("work must be finite and non-negative")
    pool = sum(mine.values(), Decimal(0))
    return {m: _text(v) for m, v in mine.items() if v > 0}, _text(pool)


def _text(value: Decimal) -> str:
    """Plain decimal notation without trailing zeros (2.500 -> 2.5, 4.0 -> 4, 1E+3 -> 1000)."""
    return format(value.normalize(), "f") if value else "0"


def adjusted_target(target: Decimal, mean_price: Decimal | None, max_bps: int) -> Decimal:
    """The target price after one daily adjustment toward `mean_price` (None: no prices; unchanged)."""
    if not 0 <= max_bps <= 10_000:
        raise ValueError("max_bps must lie in 0..10000")
    if mean_price is None or max_bps == 0 or target <= 0 or mean_price <= 0:
        return target
    step = (target * max_bps / 10_000).quantize(FACTOR_QUANTUM, rounding=ROUND_DOWN)
    gap = mean_price - target
    move = min(abs(gap), step).quantize(FACTOR_QUANTUM, rounding=ROUND_DOWN)
    return target + move if gap > 0 else target - move
