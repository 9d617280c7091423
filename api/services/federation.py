"""Federation: every Stratum gateway feeding the pool is a peer (issue 8 point 7).

Read from `gateway_shares_1m` (migration 0009: per minute, gateway and algorithm; fed by the share INSERTs)
over the last 10 minutes: a peer is a gateway with a share in that window; its hashrate is H = Σd·F/T per
algorithm (T from the later of the window's aligned start and its first share, as `api.services.hashrate`),
summed; its reputation is accepted / (accepted + stale + rejected). `federation()` is what /stats shows as
`federation` (`api.services.pool.FederationSource`), `status()` and `peers()` answer /federation/status and
/federation/peers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from api.dto.federation import FederationStatus, Peer, Settlements
from api.dto.pool import Federation
from api.services.db import Db
from api.services.windows import BUCKETS, TEN_MINUTES, from_ms, to_ms
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate
from schemas.clock import Clock
from schemas.identity import host_label

#: The peer id shown for shares published without a gateway id (external Stratum servers, the simulator).
EXTERNAL = "external"

_PEERS = (
    "SELECT gateway, algorithm, anyLast(region), sum(sum_difficulty), sum(accepted), sum(stale), sum(rejected), "
    "toUnixTimestamp64Milli(min(first_ts)), toUnixTimestamp64Milli(max(last_ts)) "
    "FROM gateway_shares_1m WHERE " + BUCKETS + " GROUP BY gateway, algorithm ORDER BY gateway, algorithm"
)


@dataclass
class _Tally:
    region: str = ""
    hashrate: float = 0.0
    accepted: int = 0
    stale: int = 0
    rejected: int = 0
    last_ms: int = 0
    algorithms: list[str] = field(default_factory=list)

    @property
    def shares(self) -> int:
        return self.accepted + self.stale + self.rejected


class FederationService:
    def __init__(self, db: Db, clock: Clock, node_id: str = "") -> None:
        self._db = db
        self._clock = clock
        self.node_id = node_id or host_label()

    async def peers(self) -> list[Peer]:
        """Gateways with a share in the last 10 minutes, by id."""
        return [
            Peer(id=gateway, name=gateway, hashrate=t.hashrate, reputation=_ratio(t.accepted, t.shares),
                 location=t.region, latency=None, accepted=t.accepted, stale=t.stale, rejected=t.rejected,
                 algorithms=t.algorithms, last_seen=from_ms(t.last_ms))
            for gateway, t in (await self._tallies()).items()
        ]

    async def status(self) -> FederationStatus:
        summary = await self.federation()
        return FederationStatus(
            node_id=self.node_id, peers=summary.peers, reputation=summary.reputation,
            shared_hashrate=summary.shared_hashrate, settlements=Settlements(),
            window_seconds=TEN_MINUTES.seconds,
        )

    async def federation(self) -> Federation:
        """The seed's `/stats` `federation{peers, shared_hashrate, reputation}`."""
        tallies = (await self._tallies()).values()
        accepted = sum(t.accepted for t in tallies)
        return Federation(peers=len(tallies), shared_hashrate=sum(t.hashrate for t in tallies),
                          reputation=_ratio(accepted, sum(t.shares for t in tallies)))

    async def _tallies(self) -> dict[str, _Tally]:
        now_ms = to_ms(self._clock.now())
        start_ms, since_ms = TEN_MINUTES.aligned_start_ms(now_ms), TEN_MINUTES.start_ms(now_ms)
        tallies: defaultdict[str, _Tally] = defaultdict(_Tally)
        for gateway, algorithm, region, sum_d, acc, stale, rej, first_ms, last_ms in await self._db.rows(
            _PEERS, TEN_MINUTES.params(now_ms)
        ):
            t = tallies[str(gateway) or EXTERNAL]
            t.region = t.region or str(region)
            t.accepted += int(acc)
            t.stale += int(stale)
            t.rejected += int(rej)
            t.last_ms = max(t.last_ms, int(last_ms))
            if algorithm in ALGORITHM_NAMES:  # unknown algorithms carry no accepted work
                seconds = (now_ms - max(start_ms, int(first_ms))) / 1000
                t.hashrate += hashrate(float(sum_d), seconds, Algorithm.parse(algorithm))
                t.algorithms.append(str(algorithm))
        # seen = a share in the last 10 minutes (the aligned window reaches up to a minute further back)
        return {g: t for g, t in sorted(tallies.items()) if t.last_ms >= since_ms}


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0
