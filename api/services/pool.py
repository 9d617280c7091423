"""Pool-wide figures: the `PoolView` the snapshot holds (/stats, /algorithms, /monitoring/hardware and every
miner active in the last 24 h), computed from two bucket-table reads (10 min, 24 h) plus blocks and telemetry.

Federation: `FederationSource.federation()` gives the seed's `federation{peers, shared_hashrate,
reputation}`; the federation component passes one through `ApiDeps.federation`. Without one the pool
reports 0 peers, 0 H/s and reputation 1.0 (a pool alone trusts itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from api.answers import EncodedAnswers
from api.dto.blocks import HardwareReport
from api.dto.common import SEED_NAMES, ShareCounts
from api.dto.miners import MinerStats
from api.dto.pool import AlgorithmInfo, Federation, HardwareStats, PoolStats
from api.services.blocks import BlockService
from api.services.db import Db
from api.services.hardware import hardware_report
from api.services.hashrate import BucketRow, rates, summarise, summed, window_rows
from api.services.miners import all_miners, online
from api.services.snapshot import Snapshot
from api.services.windows import DAY, TEN_MINUTES, to_ms
from api.settings import ServedPort
from schemas.algorithms import ALGORITHM_NAMES, HASHRATE_FACTOR, Algorithm
from schemas.clock import Clock
from schemas.identity import COINS_BY_ALGORITHM

#: Seed 001's hardware types per algorithm.
HARDWARE_TYPES: dict[Algorithm, list[str]] = {
    Algorithm.SHA256D: ["CPU", "GPU", "ASIC"],
    Algorithm.SCRYPT: ["CPU", "GPU", "ASIC"],
    Algorithm.ETHASH: ["GPU"],
    Algorithm.RANDOMX: ["CPU"],
    Algorithm.KAWPOW: ["GPU"],
}


class FederationSource(Protocol):
    async def federation(self) -> Federation: ...


@dataclass(frozen=True)
class PoolView:
    """One snapshot of the pool."""

    stats: PoolStats
    algorithms: list[AlgorithmInfo]
    hardware: HardwareReport
    miners: Mapping[str, MinerStats]  # every miner with a share in the last 24 h
    taken_at: dt.datetime


def served_algorithms(ports: Sequence[ServedPort]) -> list[Algorithm]:
    return sorted({Algorithm.parse(p.algorithm) for p in ports})


class PoolService:
    """The pool's figures. `snapshot` (started by the app's lifespan) serves them; `compute` builds one."""

    def __init__(self, db: Db, clock: Clock, ports: Sequence[ServedPort] = (),
                 federation: FederationSource | None = None, interval_s: float = 2.0) -> None:
        self._db = db
        self._clock = clock
        self._ports = tuple(ports)
        self._federation = federation
        self._blocks = BlockService(db)
        self.snapshot: Snapshot[PoolView] = Snapshot(self.compute, interval_s)
        self._answers = EncodedAnswers(max_entries=16)

    async def stats(self) -> PoolStats:
        return (await self.snapshot.current()).stats

    async def stats_answer(self) -> bytes:
        """The encoded `/stats` envelope of the current snapshot (encoded once per snapshot)."""
        view = await self.snapshot.current()
        return self._answers.get("stats", view, lambda: view.stats, view.taken_at)

    async def algorithms_answer(self) -> bytes:
        view = await self.snapshot.current()
        return self._answers.get("algorithms", view, lambda: view.algorithms, view.taken_at)

    async def algorithms(self) -> list[AlgorithmInfo]:
        return (await self.snapshot.current()).algorithms

    async def hardware(self) -> HardwareReport:
        return (await self.snapshot.current()).hardware

    def active_miners(self) -> Mapping[str, MinerStats]:
        """Every miner of the latest snapshot (empty before the first one)."""
        view = self.snapshot.latest()
        return view.miners if view is not None else {}

    async def compute(self) -> PoolView:
        at = self._clock.now()
        now_ms = to_ms(at)
        rows_10m = await window_rows(self._db, now_ms, TEN_MINUTES)
        rows_24h = await window_rows(self._db, now_ms, DAY)
        counts, hardware = await hardware_report(self._db, now_ms, rows_10m, rows_24h, at)
        blocks_found, last_block = await self._blocks.summary()
        federation = await self._federation.federation() if self._federation is not None else Federation()
        miners = await all_miners(self._db, now_ms, rows_10m, rows_24h)
        present = sorted({r.algorithm for r in rows_24h if r.algorithm in ALGORITHM_NAMES})
        rates_10m = rates(rows_10m, TEN_MINUTES, now_ms, lambda _: "").get("", [])
        rates_24h = rates(rows_24h, DAY, now_ms, lambda _: "").get("", [])
        current = {r.algorithm: r.hashrate for r in rates_10m}
        served = served_algorithms(self._ports)
        active = [r for r in rows_10m if online(r.last_accepted_ms, now_ms)]
        stats = PoolStats(
            hashrate=summed(rates_10m),
            miners=len({r.miner for r in active}),
            workers=len({(r.miner, r.worker) for r in active}),
            blocks_found=blocks_found,
            last_block=last_block,
            currencies=[coin for a in served for coin in COINS_BY_ALGORITHM.get(a, ())],
            algorithms=[SEED_NAMES[a] for a in served],
            federation=federation,
            hardware_stats=HardwareStats(cpu_miners=counts.cpu, gpu_miners=counts.gpu, asic_miners=counts.asic),
            hashrate_24h=summed(rates_24h),
            hashrate_10m=summarise(rates_10m, TEN_MINUTES, present),
            hashrate_24h_detail=summarise(rates_24h, DAY, present),
            shares_24h=_counts(rows_24h),
            algorithms_24h=present,
            hardware=counts,
            updated_at=at,
        )
        return PoolView(stats=stats, algorithms=self._catalog(served, current), hardware=hardware, miners=miners,
                        taken_at=at)

    def _catalog(self, served: list[Algorithm], current: Mapping[str, float]) -> list[AlgorithmInfo]:
        out = []
        for algorithm in served:
            ports = [p for p in self._ports if Algorithm.parse(p.algorithm) is algorithm]
            out.append(AlgorithmInfo(
                name=SEED_NAMES[algorithm],
                currencies=list(COINS_BY_ALGORITHM.get(algorithm, ())),
                ports=sorted(p.port for p in ports),
                difficulty=min(p.difficulty for p in ports),
                hashrate=current.get(algorithm.wire, 0.0),
                hardware_types=HARDWARE_TYPES[algorithm],
                stratum_version="v1",
                wire_name=algorithm.wire,
                hashrate_factor=HASHRATE_FACTOR[algorithm],
                min_difficulty=min(p.min_difficulty for p in ports),
                max_difficulty=max(p.max_difficulty for p in ports),
            ))
        return out


def _counts(rows: Sequence[BucketRow]) -> ShareCounts:
    return ShareCounts(accepted=sum(r.accepted for r in rows), rejected=sum(r.rejected for r in rows),
                       stale=sum(r.stale for r in rows))


