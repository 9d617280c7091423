"""Share generation: the fleet's Poisson share arrivals as Arrow columns, then as `shares` topic messages.

The window [start, start + duration) is cut into time slices (big ones when generating as fast as
possible, `realtime_tick_s` ones when pacing). Each worker's share count over the whole window is drawn
up front, count ~ Poisson(rate·duration), and split over the slices binomially; inside a slice the arrival
times are uniform. Given its count, a Poisson process's arrivals are uniform order statistics, so this is
the same process as cumulating exponential inter-arrival times, vectorised, and the exact total is known
before the first message goes out.

The accepted valid shares are that process, untouched. Stale, duplicate and invalid shares are added on
top, their totals fixed up front so each is its configured fraction of all shares (rounded) and spread
over the slices in proportion to the valid shares. Each is attached to a random valid share of the slice
(its "parent"), which gives it a worker; a duplicate repeats its parent's (job_id, extranonce2, ntime,
nonce) at most `DUPLICATE_MAX_DELAY_MS` later.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from bus.publisher import partition_of
from schemas.identity import address_coin
from schemas.share import SHARE_SCHEMA, Share, encode_arrow, encode_json
from sources.simulate.columns import hex_column, take_strings
from sources.simulate.fleet import DEVICE_CLASSES, Fleet
from sources.simulate.options import SimulateOptions
from sources.simulate.rigs import RateProfile

#: Shares per slice when not pacing: bounds memory (~250 bytes a share while a slice is built).
SLICE_SHARES = 500_000
JOB_INTERVAL_MS = 30_000  # the simulated pool issues a new job every 30 s
DUPLICATE_MAX_DELAY_MS = 2_000

# Row kinds (internal): valid accepted, stale, duplicate, then one per invalid kind.
VALID, STALE, DUPLICATE = 0, 1, 2
FIRST_INVALID = 3

RESULTS: tuple[str, ...] = ("accepted", "stale")
#: Worker names no validator should accept (whitespace, control characters).
BAD_WORKER_NAMES: tuple[str, ...] = ("rig 0001", "rig-0001\t", "rig\x000001")
#: Miner addresses no validator should accept.
BAD_ADDRESSES: tuple[str, ...] = ("not an address", "bc1q!!!!", "1nv@lid")
UNKNOWN_ALGORITHMS: tuple[str, ...] = ("x11",)


def bad_difficulties(encoding: str) -> tuple[float, ...]:
    """Difficulties the pipeline must reject as bad_difficulty; `-1.0` stands for minus the worker's d.

    JSON has no NaN or infinity (msgspec writes null, which is a malformed share, not a bad difficulty), so
    the JSON path only uses zero and negative values.
    """
    return (0.0, -1.0, math.nan, math.inf) if encoding == "arrow" else (0.0, -1.0)


@dataclass
class Tally:
    """What has been generated so far: the expected counts the pipeline must reproduce."""

    shares_total: int = 0
    accepted_valid: int = 0
    duplicates: int = 0
    stale: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    miner_accepted_shares: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    miner_accepted_difficulty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    algorithm_accepted_difficulty: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True, eq=False)
class SliceShares:
    """One slice's shares as numpy columns, sorted by (miner, ts) with a duplicate after its original."""

    miner: np.ndarray  # true miner index (the message key)
    worker: np.ndarray  # fleet worker index
    kind: np.ndarray  # VALID, STALE, DUPLICATE or FIRST_INVALID + index into options.invalid_kinds
    ts_ms: np.ndarray
    difficulty: np.ndarray
    job: np.ndarray
    extranonce2: np.ndarray
    ntime: np.ndarray
    nonce: np.ndarray
    address_name: np.ndarray  # index into ShareGenerator.address_dictionary
    worker_name: np.ndarray  # index into ShareGenerator.worker_dictionary
    algorithm_name: np.ndarray  # index into ShareGenerator.algorithm_dictionary

    def __len__(self) -> int:
        return len(self.ts_ms)


class ShareGenerator:
    """Generates one simulation's shares, slice by slice, from a fleet and a seeded generator.

    `slices()` yields `SliceShares` in time order; `tally` accumulates the expected counts as it goes.
    """

    def __init__(
        self, fleet: Fleet, options: SimulateOptions, rng: np.random.Generator, start_ms: int,
        profile: RateProfile | None = None,
    ) -> None:
        self.fleet = fleet
        self.profile = profile if profile is not None and len(profile) else None  # failing rigs' rates
        self.options = options
        self.rng = rng
        self.start_ms = start_ms
        self.window_ms = max(1, round(options.duration_s * 1000))
        self.end_ms = start_ms + self.window_ms  # exclusive

        rate = fleet.worker_rate
        expected = rate * (self.window_ms / 1000.0)
        if self.profile is not None:  # a failing worker's expected count follows its rate over the window
            ways = self.profile.workers
            expected[ways] = rate[ways] * self.profile.integral_ms(start_ms, self.end_ms) / 1000.0
        self._left = rng.poisson(expected).astype(np.int64)
        self.valid_total = int(self._left.sum())
        extra = options.invalid_fraction + options.duplicate_fraction + options.stale_fraction
        all_shares = self.valid_total / (1.0 - extra)
        self.stale_total = round(options.stale_fraction * all_shares)
        self.duplicate_total = round(options.duplicate_fraction * all_shares)
        self.invalid_total = round(options.invalid_fraction * all_shares)
        if self.valid_total == 0:  # nothing to attach them to
            self.stale_total = self.duplicate_total = self.invalid_total = 0
        self.shares_total = self.valid_total + self.stale_total + self.duplicate_total + self.invalid_total

        if options.realtime:
            slice_ms = options.realtime_tick_s * 1000
        else:
            shares_per_ms = max(self.shares_total, 1) / self.window_ms
            slice_ms = SLICE_SHARES / shares_per_ms
        count = max(1, math.ceil(self.window_ms / max(slice_ms, 1.0)))
        self.bounds = [start_ms + (i * self.window_ms) // count for i in range(count + 1)]

        self.address_dictionary = pa.array([*fleet.addresses, *BAD_ADDRESSES], type=pa.string())
        # aligned with address_dictionary: each address's coin by the one address rule ("" for the bad ones)
        self.coin_dictionary = pa.array(
            [*(address_coin(a, fleet.algorithms[fleet.miner_algorithm[i]]) or "" for i, a in enumerate(fleet.addresses)),
             *("" for _ in BAD_ADDRESSES)], type=pa.string())
        self.worker_dictionary = pa.array([*fleet.worker_names, *BAD_WORKER_NAMES], type=pa.string())
        self.algorithm_dictionary = pa.array(
            [*(a.wire for a in fleet.algorithms), *UNKNOWN_ALGORITHMS], type=pa.string()
        )
        self.result_dictionary = pa.array(RESULTS, type=pa.string())
        self.hardware_dictionary = pa.array(DEVICE_CLASSES, type=pa.string())
        self.ip_dictionary = pa.array(fleet.worker_ips, type=pa.string())
        self.address_keys = [a.encode() for a in fleet.addresses]
        self._groups: np.ndarray | None = None  # realtime: partition group of each miner
        self._group_keys: list[bytes] = []
        self._bad_difficulty = np.array(bad_difficulties(options.encoding))
        self._worker_algorithm = fleet.worker_algorithm

        self._valid_done = 0
        self._extras_done = np.zeros(3, dtype=np.int64)  # stale, duplicate, invalid
        self._sequence = 0  # extranonce2 counter: unique across the run, so per worker too
        self.tally = Tally(
            invalid={kind: 0 for kind in options.invalid_kinds},
            miner_accepted_shares=np.zeros(len(fleet.addresses), dtype=np.int64),
            miner_accepted_difficulty=np.zeros(len(fleet.addresses)),
            algorithm_accepted_difficulty=np.zeros(len(fleet.algorithms)),
        )

    def slices(self) -> Iterator[tuple[int, SliceShares]]:
        """(slice end in ms, the slice's shares), in time order."""
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            yield hi, self._slice(lo, hi)

    def _extras(self, valid_in_slice: int) -> tuple[int, int, int]:
        """How many stale, duplicate, invalid shares this slice gets (cumulative rounding: exact totals)."""
        self._valid_done += valid_in_slice
        totals = np.array([self.stale_total, self.duplicate_total, self.invalid_total], dtype=np.int64)
        if self.valid_total == 0:
            return 0, 0, 0
        target = (totals * self._valid_done + self.valid_total // 2) // self.valid_total
        due = target - self._extras_done
        self._extras_done = target
        return int(due[0]), int(due[1]), int(due[2])

    def _slice(self, lo: int, hi: int) -> SliceShares:
        rng, fleet = self.rng, self.fleet
        remaining_ms = self.end_ms - lo
        p = (hi - lo) / remaining_ms
        split = p if self.profile is None else self.profile.split(p, lo, hi, self.end_ms, fleet.size)
        counts = self._left if p >= 1.0 else rng.binomial(self._left, split)
        self._left = self._left - counts
        n_valid = int(counts.sum())
        n_stale, n_dup, n_invalid = self._extras(n_valid)

        # Valid shares: uniform arrival times inside the slice, per worker.
        v_worker = np.repeat(np.arange(fleet.size, dtype=np.int64), counts)
        uniform = rng.random(n_valid)
        v_ts = lo + np.floor(uniform * (hi - lo)).astype(np.int64)
        if self.profile is not None:  # failing workers' arrivals follow their rate
            self.profile.place_all(v_worker, uniform, v_ts, lo, hi)

        # Stale and invalid shares: a random valid share's worker, their own arrival time.
        n_other = n_stale + n_invalid
        o_worker = v_worker[rng.integers(0, n_valid, size=n_other)] if n_other else v_worker[:0]
        o_ts = lo + np.floor(rng.random(n_other) * (hi - lo)).astype(np.int64)
        invalid_index = self._invalid_index(n_invalid)
        o_kind = np.concatenate([np.full(n_stale, STALE, dtype=np.int64), FIRST_INVALID + invalid_index])

        worker = np.concatenate([v_worker, o_worker])
        ts = np.concatenate([v_ts, o_ts])
        kind = np.concatenate([np.zeros(n_valid, dtype=np.int64), o_kind])
        n_own = len(ts)
        job = (ts // JOB_INTERVAL_MS).astype(np.uint32)
        job[kind == STALE] -= np.uint32(1)  # a job the pool had already replaced
        extranonce2 = np.arange(self._sequence, self._sequence + n_own, dtype=np.uint64)
        self._sequence += n_own
        ntime = (ts // 1000).astype(np.uint32)
        nonce = rng.integers(0, 1 << 32, size=n_own, dtype=np.uint32)
        difficulty = fleet.worker_difficulty[worker]

        # Duplicates: an exact re-send of a valid share (parents distinct when there are enough).
        if n_dup:
            parent = rng.choice(n_valid, size=n_dup, replace=n_dup > n_valid)
            span = np.minimum(DUPLICATE_MAX_DELAY_MS, hi - 1 - ts[parent])
            delay = np.floor(rng.random(n_dup) * (span + 1)).astype(np.int64)
            worker = np.concatenate([worker, worker[parent]])
            ts = np.concatenate([ts, ts[parent] + delay])
            kind = np.concatenate([kind, np.full(n_dup, DUPLICATE, dtype=np.int64)])
            job = np.concatenate([job, job[parent]])
            extranonce2 = np.concatenate([extranonce2, extranonce2[parent]])
            ntime = np.concatenate([ntime, ntime[parent]])
            nonce = np.concatenate([nonce, nonce[parent]])
            difficulty = np.concatenate([difficulty, difficulty[parent]])

        # Sort by (miner, ts), a duplicate after its original when they share a millisecond.
        miner = fleet.worker_miner[worker]
        key = (miner << 42) | ((ts - self.start_ms) << 1) | (kind == DUPLICATE)
        order = np.argsort(key)
        miner, worker, kind, ts = miner[order], worker[order], kind[order], ts[order]
        job, extranonce2, ntime, nonce = job[order], extranonce2[order], ntime[order], nonce[order]
        difficulty = difficulty[order]

        address_name = miner.copy()
        worker_name = fleet.worker_number[worker]
        algorithm_name = self._worker_algorithm[worker]
        self._inject_invalid(kind, difficulty, address_name, worker_name, algorithm_name)

        shares = SliceShares(
            miner=miner,
            worker=worker,
            kind=kind,
            ts_ms=ts,
            difficulty=difficulty,
            job=job,
            extranonce2=extranonce2,
            ntime=ntime,
            nonce=nonce,
            address_name=address_name,
            worker_name=worker_name,
            algorithm_name=algorithm_name,
        )
        self._count(shares, n_valid, n_stale, n_dup)
        return shares

    def _invalid_index(self, n_invalid: int) -> np.ndarray:
        """Kinds of the next `n_invalid` invalid shares: round-robin over `invalid_kinds`, across slices."""
        kinds = len(self.options.invalid_kinds)
        first = int(sum(self.tally.invalid.values()))
        return (
            (np.arange(first, first + n_invalid, dtype=np.int64) % kinds) if kinds else np.zeros(0, np.int64)
        )

    def _inject_invalid(
        self,
        kind: np.ndarray,
        difficulty: np.ndarray,
        address_name: np.ndarray,
        worker_name: np.ndarray,
        algorithm_name: np.ndarray,
    ) -> None:
        """Give each invalid row exactly one defect, of its kind (values cycle through the variants)."""
        for index, name in enumerate(self.options.invalid_kinds):
            rows = np.flatnonzero(kind == FIRST_INVALID + index)
            if not len(rows):
                continue
            variant = np.arange(len(rows))
            if name == "bad_difficulty":
                values = self._bad_difficulty[variant % len(self._bad_difficulty)]
                negative = values == -1.0
                values[negative] = -difficulty[rows][negative]
                difficulty[rows] = values
            elif name == "bad_worker":
                worker_name[rows] = len(self.fleet.worker_names) + variant % len(BAD_WORKER_NAMES)
            elif name == "bad_address":
                address_name[rows] = len(self.fleet.addresses) + variant % len(BAD_ADDRESSES)
            elif name == "unknown_algorithm":
                algorithm_name[rows] = len(self.fleet.algorithms) + variant % len(UNKNOWN_ALGORITHMS)

    def _count(self, shares: SliceShares, n_valid: int, n_stale: int, n_dup: int) -> None:
        tally = self.tally
        tally.shares_total += len(shares)
        tally.accepted_valid += n_valid
        tally.stale += n_stale
        tally.duplicates += n_dup
        for index, name in enumerate(self.options.invalid_kinds):
            tally.invalid[name] += int(np.count_nonzero(shares.kind == FIRST_INVALID + index))
        valid = shares.kind == VALID
        miners = shares.miner[valid]
        diffs = shares.difficulty[valid]
        n_miners = len(self.fleet.addresses)
        tally.miner_accepted_shares += np.bincount(miners, minlength=n_miners)
        tally.miner_accepted_difficulty += np.bincount(miners, weights=diffs, minlength=n_miners)
        tally.algorithm_accepted_difficulty += np.bincount(
            self.fleet.miner_algorithm[miners], weights=diffs, minlength=len(self.fleet.algorithms)
        )

    def to_batch(self, shares: SliceShares) -> pa.RecordBatch:
        """The slice as one record batch with `SHARE_SCHEMA` (rows in the slice's order)."""
        fleet = self.fleet
        arrays = [
            pa.array(shares.ts_ms, type=pa.timestamp("ms", tz="UTC")),
            take_strings(self.algorithm_dictionary, shares.algorithm_name),
            take_strings(self.address_dictionary, shares.address_name),
            take_strings(self.worker_dictionary, shares.worker_name),
            pa.array(shares.difficulty, type=pa.float64()),
            pa.array(fleet.network_difficulty[self._worker_algorithm[shares.worker]], type=pa.float64()),
            take_strings(self.result_dictionary, (shares.kind == STALE).astype(np.int32)),
            hex_column(shares.job, 4),
            hex_column(shares.extranonce2, 8),
            pa.array(shares.ntime, type=pa.uint32()),
            pa.array(shares.nonce, type=pa.uint32()),
            take_strings(self.ip_dictionary, shares.worker),
            take_strings(self.hardware_dictionary, fleet.worker_class[shares.worker]),
            take_strings(self.coin_dictionary, shares.address_name),
            *[pa.repeat(pa.scalar("", pa.string()), len(shares))] * 2,  # gateway, region: not a gateway's
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=SHARE_SCHEMA)

    def arrow_messages(self, shares: SliceShares) -> Iterator[tuple[bytes, bytes, int]]:
        """(key, Arrow IPC message, shares in it): one miner's shares, in order, at most
        `shares_per_message` per message. Realtime: one partition group's shares per message (a one-second
        slice holds about one share per miner: a message per miner would be a message per share)."""
        if not len(shares):
            return
        batch = self.to_batch(shares)
        per_message = self.options.shares_per_message
        if self.options.realtime:
            yield from self._partition_messages(shares, batch, per_message)
            return
        cuts = np.flatnonzero(np.diff(shares.miner)) + 1
        starts = np.concatenate([[0], cuts]).tolist()
        ends = np.concatenate([cuts, [len(shares)]]).tolist()
        miners = shares.miner[starts].tolist()
        for miner, start, end in zip(miners, starts, ends, strict=True):
            key = self.address_keys[miner]
            for offset in range(start, end, per_message):
                length = min(per_message, end - offset)
                yield key, encode_arrow(batch.slice(offset, length)), length

    def _partition_messages(self, shares: SliceShares, batch: pa.RecordBatch,
                            per_message: int) -> Iterator[tuple[bytes, bytes, int]]:
        if self._groups is None:
            parts = self.options.partitions
            self._groups = np.array([partition_of(a, parts) for a in self.fleet.addresses], dtype=np.int64)
            self._group_keys = [b""] * parts
            for miner, group in enumerate(self._groups.tolist()):
                self._group_keys[group] = self._group_keys[group] or self.address_keys[miner]
        groups = self._groups[shares.miner]
        order = np.argsort(groups, kind="stable")  # each miner's shares keep their order
        grouped = batch.take(pa.array(order))
        sorted_groups = groups[order]
        cuts = np.flatnonzero(np.diff(sorted_groups)) + 1
        starts = np.concatenate([[0], cuts]).tolist()
        ends = np.concatenate([cuts, [len(order)]]).tolist()
        for group, start, end in zip(sorted_groups[starts].tolist(), starts, ends, strict=True):
            for offset in range(start, end, per_message):
                length = min(per_message, end - offset)
                yield self._group_keys[group], encode_arrow(grouped.slice(offset, length)), length

    def json_messages(self, shares: SliceShares) -> Iterator[tuple[bytes, bytes, int]]:
        """(key, JSON message, 1) per share, in time order (each miner's shares stay in order)."""
        if not len(shares):
            return
        order = np.argsort(shares.ts_ms, kind="stable")
        batch = self.to_batch(shares).take(pa.array(order))
        names = [name for name in SHARE_SCHEMA.names if name != "ts"]
        columns = [batch.column(name).to_numpy(zero_copy_only=False).tolist() for name in names]
        keys = [self.address_keys[m] for m in shares.miner[order].tolist()]
        for key, ts, *values in zip(keys, shares.ts_ms[order].tolist(), *columns, strict=True):
            share = Share(ts=ts, **dict(zip(names, values, strict=True)))
            yield key, encode_json(share), 1

    def messages(self, shares: SliceShares) -> Iterator[tuple[bytes, bytes, int]]:
        """The slice's messages in the configured encoding."""
        if self.options.encoding == "arrow":
            return self.arrow_messages(shares)
        return self.json_messages(shares)
