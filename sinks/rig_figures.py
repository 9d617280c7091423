"""Rig figures (issue 10): per rig (miner, worker) over a window ending now, what its hardware reported
(`telemetry_1m`), what the pool measured (accepted shares), its efficiency, revenue, power cost and profit.

A shared read over the pipeline's tables (like `sinks.payouts.mature_balances`): the scheduled jobs
(`jobs.rig_figures`, gauges, the alerts' "unprofitable rig") and the API (`/workers/{id}/stats`) call the one
function `rig_figures`, synchronous (the API runs it in a worker thread).

Definitions, for a window [now − W, now):
- reported hashrate, power, temperature, fan, utilisation: per closed minute, summed (hashrate, power,
  errors) or averaged (temperature, fan, utilisation) over the rig's devices, then averaged over the minutes
  that have the value; temperature_max is the maximum. Energy = Σ per-minute power × 60 s (minutes without a
  power reading count 0), so a rig that reported half the window is charged for that half.
- shares are read from their minute buckets (`shares_1m`), the window's start rounded down to its minute, so
  a day of the whole pool is cheap; measured hashrate: Σ accepted difficulty · F / T, T = now − max(now − W,
  first share in the window).
- revenue (base units of the rig's coin): when the ledger holds credits/reversals of the miner's address in
  the window, their net split over the miner's rigs in proportion to their accepted difficulty
  (`revenue_source = "ledger"`); otherwise the expected PPS value of the rig's accepted work, floor((B − fee)
  · Σ min(d/D, 1)) with B the coin's expected reward (`"pps_estimate"`); `"none"` without accepted work.
- site: `config.site` of the rig's registered worker (registry `workers`, PUT /workers/{id}); the price per
  kWh is SITE_ELECTRICITY_PRICES[site] when set, else ELECTRICITY_PRICE_KWH.
- profit = revenue × coin price (newest `prices` row at or before now in ELECTRICITY_CURRENCY) − power cost;
  null with `profit_reason` when there is no price or no power reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from kernels.rig_economics import (
    apportion,
    coin_value,
    decimal_of,
    efficiency,
    energy_kwh,
    power_cost,
    pps_estimate,
    profit,
)
from schemas.algorithms import ALGORITHM_NAMES, Algorithm, hashrate
from schemas.coins import Coin, CoinSettings
from schemas.hardware import hardware_class
from schemas.telemetry_settings import TelemetrySettings

MINUTE_MS = 60_000

_TELEMETRY = (
    "SELECT miner, worker, any(cls), count(), avg(h), sum(p), avg(p), avg(t), max(tm), sum(e), avg(f), avg(u), "
    "avg(mem) FROM (SELECT miner, worker, minute, any(lower(device_class)) AS cls, sum(hashrate_avg) AS h, "
    "sum(power_avg_w) AS p, avg(temperature_avg) AS t, max(temperature_max) AS tm, sum(hardware_errors) AS e, "
    "avg(fan_pct_avg) AS f, avg(utilization_avg) AS u, sum(memory_used_avg) AS mem FROM telemetry_1m FINAL "
    "WHERE minute >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') "
    "AND minute < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC') {filter} GROUP BY miner, worker, minute) "
    "GROUP BY miner, worker"
)
_SHARES = (  # the minute buckets (shares_1m, migration 0018): a day of the whole pool without the raw shares
    "SELECT miner, worker, algorithm, anyLast(coin), argMax(hardware, bucket), sum(sum_difficulty), "
    "toUnixTimestamp64Milli(min(first_ts)), sum(pps_work) FROM shares_1m "
    "WHERE bucket >= toStartOfMinute(fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')) "
    "AND bucket < fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') {filter} "
    "GROUP BY miner, worker, algorithm HAVING sum(accepted) > 0"
)
_LEDGER = (
    "SELECT address, coin, sum(amount) FROM ledger FINAL WHERE kind IN ('credit', 'reversal') "
    "AND address IN {miners:Array(String)} AND ts >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') "
    "AND ts < fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') GROUP BY address, coin"
)
_PRICES = (
    "SELECT coin, argMax(price, ts) FROM prices FINAL WHERE fiat = {fiat:String} AND coin IN {coins:Array(String)} "
    "AND ts <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') GROUP BY coin"
)
_SITES = (
    "SELECT address, worker_name, site FROM (SELECT address, worker_name, JSONExtractString(config, 'site') AS site, "
    "deleted FROM workers FINAL) WHERE deleted = 0 AND site != '' {filter}"
)


def parse_site_prices(text: str) -> dict[str, Decimal]:
    """SITE_ELECTRICITY_PRICES (`site=price,...`, price a non-negative decimal) -> site -> price per kWh;
    ValueError naming the bad entry."""
    prices: dict[str, Decimal] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        site, sep, price = item.partition("=")
        try:
            value = Decimal(price.strip())
        except ArithmeticError:
            value = Decimal(-1)
        if not sep or not site.strip() or not value.is_finite() or value < 0:
            raise ValueError(f"SITE_ELECTRICITY_PRICES: expected site=price (price >= 0), got {item[:60]!r}")
        prices[site.strip()] = value
    return prices


@dataclass(frozen=True)
class RigSettings:
    """What `rig_figures` needs besides the tables: electricity prices, the coin table and expected rewards."""

    telemetry: TelemetrySettings = TelemetrySettings()
    coins: CoinSettings = CoinSettings()
    #: expected block subsidy of a coin code (base units); None: no PPS estimate (revenue from the ledger only)
    subsidy: Callable[[str], int] | None = None
    site_prices: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, telemetry: TelemetrySettings, coins: CoinSettings,
           subsidy: Callable[[str], int] | None) -> RigSettings:
        return cls(telemetry, coins, subsidy, parse_site_prices(telemetry.site_electricity_prices))

    def price_kwh(self, site: str) -> Decimal:
        return self.site_prices.get(site, decimal_of(self.telemetry.electricity_price_kwh))

    def expected_reward(self, c: Coin) -> int | None:
        """B of a PPS share (as `jobs.pps.expected_reward`): the subsidy, plus the expected fees under FPPS."""
        if self.subsidy is None:
            return None
        s = self.subsidy(c.code)
        return s + (s * self.coins.fpps_fee_bps // 10_000 if c.scheme == "fpps" else 0)


@dataclass(frozen=True)
class RigFigures:
    """One rig over the window. Hashrates in H/s, power in W, temperatures in °C, fiat in `currency`."""

    miner: str
    worker: str
    device_class: str  # cpu | gpu | asic | unknown (telemetry's class, else the shares' hint)
    algorithm: str | None  # of its accepted shares (the most work); None without any
    site: str  # "" = the default price
    window_s: int
    minutes_reported: int = 0  # closed minutes with telemetry
    reported_hashrate: float | None = None
    measured_hashrate: float = 0.0
    power_w: float | None = None
    temperature_avg: float | None = None
    temperature_max: float | None = None
    fan_pct: float | None = None
    utilization_pct: float | None = None
    memory_used_mb: float | None = None
    hardware_errors: int = 0
    efficiency: float | None = None  # J per `efficiency_unit`, from the reported hashrate (else the measured)
    efficiency_unit: str | None = None  # J/TH (sha256d), J/MH (scrypt, ethash, kawpow), J/kH (randomx)
    coin: str | None = None
    revenue_base_units: int = 0
    revenue_source: str = "none"  # ledger | pps_estimate | none (no accepted work) | unknown (no coin/reward)
    currency: str = "USD"
    coin_price: Decimal | None = None
    revenue_fiat: Decimal | None = None
    energy_kwh: Decimal = Decimal(0)
    price_kwh: Decimal = Decimal(0)
    power_cost: Decimal = Decimal(0)
    profit: Decimal | None = None
    profit_reason: str | None = None  # why profit is null


@dataclass
class _Work:
    algorithm: str
    coin: str
    hint: str
    difficulty: float
    first_ms: int
    pps_work: float


def rig_figures(client: Client, now_ms: int, window_s: int, settings: RigSettings, *,
                miner: str | None = None, worker: str | None = None) -> list[RigFigures]:
    """Every rig with telemetry or accepted shares in [now − window_s, now), sorted by (miner, worker); with
    `miner` (and `worker`) only that miner's (that rig's). Five small reads: telemetry_1m and shares through
    their sort keys, then the ledger, prices and registry sites of the rigs found."""
    from_ms = now_ms - window_s * 1000
    params: dict[str, Any] = {"from_ms": from_ms, "now_ms": now_ms, "to_ms": now_ms // MINUTE_MS * MINUTE_MS,
                              "miner": miner or "", "worker": worker or ""}
    rig_filter = ("AND miner = {miner:String}" if miner is not None else "") + (
        " AND worker = {worker:String}" if worker is not None else "")
    telemetry = {(str(r[0]), str(r[1])): r for r in _q(client, _TELEMETRY.replace("{filter}", rig_filter), params)}
    # the shares of the whole miner: its ledger credits are split over all of its rigs
    miner_filter = "AND miner = {miner:String}" if miner is not None else ""
    work: dict[tuple[str, str], list[_Work]] = {}
    for m, w, algo, c, hint, d, first, pps in _q(client, _SHARES.replace("{filter}", miner_filter), params):
        work.setdefault((str(m), str(w)), []).append(
            _Work(str(algo), str(c), str(hint), float(d), int(first), float(pps or 0.0)))
    rigs = sorted(set(telemetry) | {k for k in work if worker is None or k[1] == worker})
    if not rigs:
        return []
    miners = sorted({m for m, _ in rigs})
    ledger = {(str(a), str(c)): int(v) for a, c, v in _q(client, _LEDGER, {**params, "miners": miners})}
    site_filter = "AND address = {miner:String}" if miner is not None else ""
    sites = {(str(a), str(w)): str(s) for a, w, s in _q(client, _SITES.replace("{filter}", site_filter), params)}
    coins = sorted({x.coin for ws in work.values() for x in ws if x.coin})
    currency = settings.telemetry.electricity_currency
    prices = {str(c): Decimal(p) for c, p in _q(client, _PRICES, {"fiat": currency, "coins": coins, "now_ms": now_ms})
              } if coins else {}
    miner_work: dict[tuple[str, str], float] = {}
    for (m, _), ws in work.items():
        for x in ws:
            miner_work[(m, x.coin)] = miner_work.get((m, x.coin), 0.0) + x.difficulty
    return [_figures(rig, telemetry.get(rig), work.get(rig, []), now_ms, window_s, settings, sites.get(rig, ""),
                     ledger, miner_work, prices) for rig in rigs]


def _q(client: Client, sql: str, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
    return client.query(sql, parameters=params).result_rows


def _opt(x: Any) -> float | None:
    return None if x is None else float(x)


def _figures(rig: tuple[str, str], tel: Sequence[Any] | None, work: list[_Work], now_ms: int, window_s: int,
             settings: RigSettings, site: str, ledger: dict[tuple[str, str], int],
             miner_work: dict[tuple[str, str], float], prices: dict[str, Decimal]) -> RigFigures:
    miner, worker = rig
    main = max(work, key=lambda x: x.difficulty) if work else None
    algorithm = main.algorithm if main is not None else None
    measured = _measured(work, algorithm, now_ms, window_s)
    cls = str(tel[2]) if tel is not None and tel[2] else hardware_class(main.hint.lower() if main else "")
    reported = _opt(tel[4]) if tel is not None else None
    power = _opt(tel[6]) if tel is not None else None
    eff, unit = efficiency(power, reported if reported else measured, algorithm) if algorithm else (None, None)
    watt_minutes = float(tel[5]) if tel is not None and tel[5] is not None else 0.0
    kwh = energy_kwh(watt_minutes) if tel is not None and tel[5] is not None else Decimal(0)
    price_kwh = settings.price_kwh(site)
    cost = power_cost(watt_minutes, price_kwh)
    units, source, coin_code = _revenue(miner, work, main, settings, ledger, miner_work)
    out = RigFigures(
        miner=miner, worker=worker, device_class=hardware_class(cls), algorithm=algorithm, site=site,
        window_s=window_s, measured_hashrate=measured, reported_hashrate=reported, power_w=power,
        efficiency=eff, efficiency_unit=unit, coin=coin_code, revenue_base_units=units, revenue_source=source,
        currency=settings.telemetry.electricity_currency, energy_kwh=kwh, price_kwh=price_kwh, power_cost=cost)
    if tel is not None:
        out = _with_telemetry(out, tel)
    return _with_profit(out, settings, prices)


def _measured(work: Iterable[_Work], algorithm: str | None, now_ms: int, window_s: int) -> float:
    mine = [x for x in work if x.algorithm == algorithm]
    if algorithm is None or algorithm not in ALGORITHM_NAMES or not mine:
        return 0.0
    first = min(x.first_ms for x in mine)
    seconds = (now_ms - max(now_ms - window_s * 1000, first)) / 1000
    return hashrate(sum(x.difficulty for x in mine), seconds, Algorithm.parse(algorithm))


def _revenue(miner: str, work: list[_Work], main: _Work | None, settings: RigSettings,
             ledger: dict[tuple[str, str], int], miner_work: dict[tuple[str, str], float]) -> tuple[int, str, str | None]:
    if main is None:
        return 0, "none", None
    code = main.coin
    if not code:  # shares stored before the coin column: the coin is not known
        return 0, "unknown", None
    mine = [x for x in work if x.coin == code]
    if (miner, code) in ledger:
        part = sum(x.difficulty for x in mine)
        return apportion(ledger[(miner, code)], part, miner_work.get((miner, code), 0.0)), "ledger", code
    try:
        c = settings.coins.coin(code)
    except ValueError:
        return 0, "unknown", code
    reward = settings.expected_reward(c)
    if reward is None:
        return 0, "unknown", code
    return pps_estimate(sum(x.pps_work for x in mine), reward, c.fee_bps), "pps_estimate", code


def _with_telemetry(out: RigFigures, tel: Sequence[Any]) -> RigFigures:
    return replace(out, minutes_reported=int(tel[3]), temperature_avg=_opt(tel[7]), temperature_max=_opt(tel[8]),
                   hardware_errors=int(tel[9] or 0), fan_pct=_opt(tel[10]), utilization_pct=_opt(tel[11]),
                   memory_used_mb=_opt(tel[12]))


def _with_profit(out: RigFigures, settings: RigSettings, prices: dict[str, Decimal]) -> RigFigures:
    if out.power_w is None:
        return replace(out, profit_reason="no power reading in the window")
    if out.revenue_source == "unknown":
        return replace(out, profit_reason="revenue unknown (no coin or no expected reward for its shares)")
    if out.revenue_source == "none" or out.coin is None:
        return replace(out, revenue_fiat=Decimal(0), profit=profit(Decimal(0), out.power_cost))
    price = prices.get(out.coin)
    if price is None:
        return replace(out, profit_reason=f"no {out.coin} price in {out.currency} (POST /api/v1/prices)")
    try:
        decimals = settings.coins.coin(out.coin).decimals
    except ValueError:
        return replace(out, profit_reason=f"unknown coin {out.coin}")
    revenue = coin_value(out.revenue_base_units, decimals, price)
    return replace(out, coin_price=price, revenue_fiat=revenue, profit=profit(revenue, out.power_cost))
