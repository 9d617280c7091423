"""Telemetry checks that need a device's history: counters going backwards, stuck sensors, spikes.

Every kernel takes the readings of a batch sorted by device then ts (`dev`: the device's index 0..k-1 in
the batch, non-decreasing; `use`: the rows to check — the others are passed over and change nothing) and the
state of the batch's k devices before it, and returns its verdicts and the devices' state after it (new
arrays: the inputs are not written, so a batch checked twice gets the same answer). Each has a plain-Python
reference below it (`*_reference`, one dict per device) that its unit test compares against.

State starts empty (`empty_*`): a device seen for the first time, or again after the agent lost its state (a
restart, a rebalance, an eviction), is checked leniently — no counter comparison before a previous reading,
no stuck sensor before `stuck_after_ms` of constant values were seen, no spike before MIN_WINDOW readings.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numba as nb
import numpy as np
import numpy.typing as npt

from schemas.telemetry import TelemetryFlag, TelemetryReason

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Recent readings kept per device and series for the spike check, and how many are needed before it applies.
WINDOW = 32
MIN_WINDOW = 8
#: 1.4826 · MAD estimates the standard deviation of normal data.
MAD_SCALE = 1.4826
#: The spike scale never goes below max(abs floor of the series, REL_FLOOR · |median|): a series constant
#: over the window has MAD = 0, and a change of one unit (an integer temperature sensor going 70 -> 71) is
#: not a spike; a change of `z` floors is.
REL_FLOOR = 0.01

_STUCK = np.uint16(TelemetryFlag.STUCK)
_SPIKE = np.uint16(TelemetryFlag.SPIKE)
_RESET = np.uint16(TelemetryFlag.COUNTER_RESET)
_BACKWARDS = np.uint8(TelemetryReason.COUNTER_BACKWARDS)
NONE = -1  # a counter never seen


# ---- order: which readings are news ------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def in_order(dev: I64, ts: I64, use: B, last_ts: I64) -> tuple[B, I64]:
    """fresh[i]: row i is used and later than every earlier reading of its device (in state or in the batch).
    A reading at or before its device's last ts (a late one, or one seen again) is not checked against the
    history and does not change it."""
    out_ts = last_ts.copy()
    fresh = np.zeros(dev.shape[0], dtype=np.bool_)
    for i in range(dev.shape[0]):
        d = dev[i]
        if use[i] and ts[i] > out_ts[d]:
            fresh[i] = True
            out_ts[d] = ts[i]
    return fresh, out_ts


# ---- counters -------------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def check_counters(dev: I64, use: B, errors: I64, errors_present: B, uptime: I64, uptime_present: B,
                   last_errors: I64, last_uptime: I64) -> tuple[U8, U16, I64, I64]:
    """(reason, flag, last_errors, last_uptime). uptime_s lower than the device's previous one: a reboot,
    flag COUNTER_RESET. Otherwise hardware_errors lower than the previous one: with both uptimes known (so
    the device did not reboot) rejected COUNTER_BACKWARDS, without them flag COUNTER_RESET (a reboot cannot
    be ruled out). Either way the reading's counters become the new baseline: a counter zeroed without a
    reboot (cgminer's `zero` command) costs one reading, not all that follow."""
    out_errors, out_uptime = last_errors.copy(), last_uptime.copy()
    reason = np.zeros(dev.shape[0], dtype=np.uint8)
    flag = np.zeros(dev.shape[0], dtype=np.uint16)
    for i in range(dev.shape[0]):
        if not use[i]:
            continue
        d = dev[i]
        up_known = uptime_present[i] and out_uptime[d] != NONE
        if up_known and uptime[i] < out_uptime[d]:
            flag[i] = _RESET
        elif errors_present[i] and out_errors[d] != NONE and errors[i] < out_errors[d]:
            if up_known:
                reason[i] = _BACKWARDS
            else:
                flag[i] = _RESET
        if errors_present[i]:
            out_errors[d] = errors[i]
        if uptime_present[i]:
            out_uptime[d] = uptime[i]
    return reason, flag, out_errors, out_uptime


def counters_reference(rows: Sequence[tuple[int, int | None, int | None]],
                       state: dict[int, tuple[int | None, int | None]]) -> list[tuple[int, int]]:
    """Rows (device, errors, uptime) in order, all used; `state` device -> (errors, uptime), updated."""
    out = []
    for d, errors, uptime in rows:
        last_errors, last_uptime = state.get(d, (None, None))
        reason, flag = 0, 0
        if uptime is not None and last_uptime is not None and uptime < last_uptime:
            flag = int(TelemetryFlag.COUNTER_RESET)
        elif errors is not None and last_errors is not None and errors < last_errors:
            if uptime is not None and last_uptime is not None:
                reason = int(TelemetryReason.COUNTER_BACKWARDS)
            else:
                flag = int(TelemetryFlag.COUNTER_RESET)
        state[d] = (errors if errors is not None else last_errors, uptime if uptime is not None else last_uptime)
        out.append((reason, flag))
    return out


# ---- stuck sensors --------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def check_stuck(dev: I64, ts: I64, use: B, values: F64, present: B, skip_zero: B, last_value: F64,
                since: I64, stuck_after_ms: int) -> tuple[U16, F64, I64]:
    """(flag, last_value, since). `values`/`present` are (s, n): s sensors; `last_value`/`since` (k, s): the
    value each device's sensor has held (NaN: none yet) and the ts it first read it. A reading exactly equal
    to the held value `stuck_after_ms` or more after it was first read is flagged STUCK; a different value
    restarts the clock. Sensors with `skip_zero` ignore 0 (a stopped fan honestly reads 0 rpm)."""
    out_value, out_since = last_value.copy(), since.copy()
    flag = np.zeros(dev.shape[0], dtype=np.uint16)
    for i in range(dev.shape[0]):
        if not use[i]:
            continue
        d = dev[i]
        for s in range(values.shape[0]):
            if not present[s, i]:
                continue
            x = values[s, i]
            if skip_zero[s] and x == 0.0:
                out_value[d, s] = np.nan
                continue
            if x == out_value[d, s]:
                if ts[i] - out_since[d, s] >= stuck_after_ms:
                    flag[i] = _STUCK
            else:
                out_value[d, s] = x
                out_since[d, s] = ts[i]
    return flag, out_value, out_since


def stuck_reference(rows: Sequence[tuple[int, int, Sequence[float | None]]], skip_zero: Sequence[bool],
                    state: dict[tuple[int, int], tuple[float, int]], stuck_after_ms: int) -> list[int]:
    """Rows (device, ts, values per sensor or None) in order, all used; `state` (device, sensor) -> (value,
    since), updated."""
    out = []
    for d, ts, values in rows:
        flag = 0
        for s, x in enumerate(values):
            if x is None:
                continue
            if skip_zero[s] and x == 0.0:
                state.pop((d, s), None)
                continue
            held = state.get((d, s))
            if held is not None and held[0] == x:
                if ts - held[1] >= stuck_after_ms:
                    flag = int(TelemetryFlag.STUCK)
            else:
                state[(d, s)] = (x, ts)
        out.append(flag)
    return out


# ---- spikes ---------------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def _replace_sorted(s: F64, m: int, old: float, drop: bool, x: float) -> None:
    """s[:m] sorted: take one `old` out if `drop`, then put x in, keeping s sorted (O(m) moves, no allocation)."""
    if drop:
        k = np.searchsorted(s[:m], old)
        for a in range(k, m - 1):
            s[a] = s[a + 1]
        m -= 1
    b = m - 1
    while b >= 0 and s[b] > x:
        s[b + 1] = s[b]
        b -= 1
    s[b + 1] = x


@nb.njit(cache=True, nogil=True)
def _median_mad(s: F64, m: int) -> tuple[float, float]:
    """Median of sorted s[:m] and the median of |s[:m] − median| (MAD), the latter by merging the deviations
    left and right of the median, which are each already in order (O(m), exact: a − b = −(b − a) in IEEE)."""
    h = m // 2
    med = float(s[h]) if m % 2 else float((s[h - 1] + s[h]) / 2.0)
    p = 0
    while p < m and s[p] < med:
        p += 1
    i, j = p - 1, p
    prev = cur = 0.0
    for _ in range(h + 1):
        if i >= 0 and (j >= m or med - s[i] <= s[j] - med):
            d = med - s[i]
            i -= 1
        else:
            d = s[j] - med
            j += 1
        prev, cur = cur, d
    return med, (cur if m % 2 else (prev + cur) / 2.0)


@nb.njit(cache=True, nogil=True)
def check_spikes(dev: I64, use: B, values: F64, present: B, ring: F64, ring_sorted: F64, ring_len: I64,
                 ring_pos: I64, z_max: float, abs_floor: F64) -> tuple[U16, F64, F64, I64, I64]:
    """(flag, ring, ring_sorted, ring_len, ring_pos). `values`/`present` (s, n): s series; `ring` (k, s,
    WINDOW) the last readings of each device's series in arrival order (`ring_len` of them, next slot
    `ring_pos`), `ring_sorted` the same values in order. With MIN_WINDOW or more readings kept, x is flagged
    SPIKE when |x − median| > z_max · scale, scale = max(MAD_SCALE · MAD, abs_floor[s], REL_FLOOR · |median|)
    (MAD = median of |kept − median|; the floor defines MAD = 0). Every used reading then enters the window,
    spikes included (a lasting level change stops being one). Values are finite (the stateless checks ran)."""
    out_ring, out_sorted, out_len, out_pos = ring.copy(), ring_sorted.copy(), ring_len.copy(), ring_pos.copy()
    flag = np.zeros(dev.shape[0], dtype=np.uint16)
    width = ring.shape[2]
    for i in range(dev.shape[0]):
        if not use[i]:
            continue
        d = dev[i]
        for s in range(values.shape[0]):
            if not present[s, i]:
                continue
            x = values[s, i]
            m = out_len[d, s]
            if m >= MIN_WINDOW:
                med, mad = _median_mad(out_sorted[d, s], m)
                scale = max(MAD_SCALE * mad, max(abs_floor[s], REL_FLOOR * abs(med)))
                if abs(x - med) > z_max * scale:
                    flag[i] = _SPIKE
            pos = out_pos[d, s]
            _replace_sorted(out_sorted[d, s], m, out_ring[d, s, pos], m == width, x)
            out_ring[d, s, pos] = x
            out_pos[d, s] = (pos + 1) % width
            out_len[d, s] = min(m + 1, width)
    return flag, out_ring, out_sorted, out_len, out_pos


def spikes_reference(rows: Sequence[tuple[int, Sequence[float | None]]], state: dict[tuple[int, int], list[float]],
                     z_max: float, abs_floor: Sequence[float], window: int = WINDOW) -> list[int]:
    """Rows (device, values per series or None) in order, all used; `state` (device, series) -> the last
    `window` values, oldest first, updated."""
    out = []
    for d, values in rows:
        flag = 0
        for s, x in enumerate(values):
            if x is None:
                continue
            kept = state.setdefault((d, s), [])
            if len(kept) >= MIN_WINDOW:
                med = float(statistics.median(kept))
                mad = float(statistics.median([abs(v - med) for v in kept]))
                scale = max(MAD_SCALE * mad, max(abs_floor[s], REL_FLOOR * abs(med)))
                if abs(x - med) > z_max * scale:
                    flag = int(TelemetryFlag.SPIKE)
            kept.append(x)
            del kept[:-window]
        out.append(flag)
    return out
