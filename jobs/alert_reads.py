"""What the alert evaluator reads from ClickHouse: each worker's accepted work (share rollups, never raw
shares), each device's recent raw telemetry, the per-worker settings and the open alerts. Small GROUP BY
reads over the tables' recent partitions; run in the job's worker thread."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from jobs.alert_rules import DeviceReadings, Thresholds, WorkerDay, WorkerShares
from schemas.alerts import ALERT_COLUMNS, Alert, alert_from_row
from schemas.algorithms import HASHRATE_FACTOR, Algorithm

#: The offline rule's window (hourly buckets): a worker silent longer than this is no longer looked at, but
#: an alert already open for it stays open until it shares again.
OFFLINE_WINDOW_S = 7 * 86_400
#: Raw telemetry looked at for temperature and fans.
TELEMETRY_WINDOW_S = 300

_WORK = (
    "SELECT miner, worker, argMax(algorithm, last_accepted_ts), sum(accepted), sum(sum_difficulty), "
    "toUnixTimestamp64Milli(min(first_ts)), toUnixTimestamp64Milli(max(last_accepted_ts)), "
    "argMaxIf(sum_difficulty / accepted, bucket, accepted > 0), sumIf(accepted, bucket >= fromUnixTimestamp64Milli({day:Int64}, 'UTC')), "
    "sumIf(sum_difficulty, bucket >= fromUnixTimestamp64Milli({day:Int64}, 'UTC')), "
    "toUnixTimestamp64Milli(minIf(first_ts, bucket >= fromUnixTimestamp64Milli({day:Int64}, 'UTC'))) "
    "FROM shares_1h WHERE bucket >= fromUnixTimestamp64Milli({start:Int64}, 'UTC') AND algorithm IN {known:Array(String)} "
    "GROUP BY miner, worker HAVING sum(accepted) > 0"
)
_DAY = (
    "SELECT miner, worker, argMax(algorithm, bucket), sum(accepted), sum(sum_difficulty), "
    "toUnixTimestamp64Milli(min(first_ts)), sumIf(sum_difficulty, bucket >= fromUnixTimestamp64Milli({hour:Int64}, 'UTC')) "
    "FROM shares_1m WHERE bucket >= fromUnixTimestamp64Milli({day:Int64}, 'UTC') AND algorithm IN {known:Array(String)} "
    "GROUP BY miner, worker HAVING sum(accepted) > 0"
)
_DEVICES = (
    "SELECT miner, worker, any(device_class), device_id, count(), median(temperature_c), max(temperature_c), "
    "countIf(fan_rpm IS NOT NULL OR fan_pct IS NOT NULL), "
    "maxIf(greatest(ifNull(fan_rpm, 0), ifNull(fan_pct, 0)), fan_rpm IS NOT NULL OR fan_pct IS NOT NULL), "
    "max(hashrate) FROM telemetry "
    "WHERE ts > fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({now:Int64}, 'UTC') "
    "GROUP BY miner, worker, device_id"
)
_SETTINGS = (
    "SELECT w.address, w.worker_name, s.muted, s.offline_intervals, s.temperature_limit, s.hashrate_drop_pct, "
    "s.fan_alerts, s.profit_alerts FROM worker_alert_settings AS s FINAL "
    "INNER JOIN (SELECT id, address, worker_name FROM workers FINAL WHERE deleted = 0) AS w ON w.id = s.worker_id"
)
_OPEN = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL WHERE cleared_at IS NULL"


def _known() -> list[str]:
    return [a.wire for a in Algorithm]


def _factor(algorithm: str) -> float:
    return HASHRATE_FACTOR[Algorithm.parse(algorithm)]


def worker_shares(client: Client, now_ms: int) -> list[WorkerShares]:
    params = {"start": now_ms - OFFLINE_WINDOW_S * 1000, "day": now_ms - 86_400_000, "known": _known()}
    found = []
    for miner, worker, algo, n, sd, first, last, recent, n_day, sd_day, first_day in client.query(
            _WORK, parameters=params).result_rows:
        found.append(WorkerShares(str(miner), str(worker), _factor(str(algo)), int(n), float(sd), int(first),
                                  int(last), float(recent), int(n_day), float(sd_day), int(first_day)))
    return found


def worker_days(client: Client, now_ms: int) -> list[WorkerDay]:
    hour = -(-(now_ms - 3_600_000) // 60_000) * 60_000  # the first whole minute of the last hour
    params = {"day": now_ms - 86_400_000, "hour": hour, "known": _known()}
    return [WorkerDay(str(m), str(w), _factor(str(a)), int(n), float(sd), int(first), float(sd_hour),
                      (now_ms - hour) / 1000)
            for m, w, a, n, sd, first, sd_hour in client.query(_DAY, parameters=params).result_rows]


def devices(client: Client, now_ms: int) -> list[DeviceReadings]:
    params = {"since": now_ms - TELEMETRY_WINDOW_S * 1000, "now": now_ms}
    return [DeviceReadings(str(m), str(w), str(cls), str(dev), int(n), _num(t), _num(t_max), int(fans),
                           _num(fan_max) if int(fans) else None, _num(h_max))
            for m, w, cls, dev, n, t, t_max, fans, fan_max, h_max in
            client.query(_DEVICES, parameters=params).result_rows]


def thresholds(client: Client, offline_intervals: float, hashrate_drop_pct: float) -> dict[tuple[str, str], Thresholds]:
    """(miner, worker) -> its effective settings, for the registered workers that have any."""
    found = {}
    for miner, worker, muted, intervals, limit, drop, fans, profit in client.query(_SETTINGS).result_rows:
        found[(str(miner), str(worker))] = Thresholds(
            muted=bool(muted), offline_intervals=float(intervals) if intervals is not None else offline_intervals,
            temperature_limit=_num(limit), hashrate_drop_pct=float(drop) if drop is not None else hashrate_drop_pct,
            fan_alerts=bool(fans), profit_alerts=bool(profit))
    return found


def open_alerts(client: Client) -> list[Alert]:
    return [alert_from_row(r) for r in client.query(_OPEN).result_rows]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
