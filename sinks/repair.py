"""Completing an INSERT a crash cut short: the tables of one INSERT agree again before the agent consumes.

An INSERT into `shares` writes the table and each materialized view (`ingest_progress`, `shares_1m` →
`shares_1h`/`shares_1d`, `share_rejects_1m`) as separate parts, not atomic together; `kill -9` in the middle
can leave some of them written. Writes are sequential, so only the last INSERT can be partial, and the writer
records its intent (offset ranges, row count) just before it (`insert_intents`). At start, `complete` reads
the last intent of the topic incarnation and, when its raw rows are all in `shares`, adds to each rollup
exactly what it lacks for the keys of those rows (sums and counts as differences; min/max/anyLast are
idempotent) and raises `ingest_progress` to the batch's offsets, so the replay skips it. Intents whose rows
are not in `shares` were not written and are simply replayed. Every step is idempotent: a crash during the
repair repeats it harmlessly.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Repair:
    """What `complete` found and did."""

    intent_rows: int = 0  # rows the last INSERT meant to write (0: no intent)
    raw_rows: int = 0  # of which `shares` holds
    repaired: tuple[str, ...] = ()  # tables that needed rows added


def _where(ranges: list[list[int]]) -> str:
    """Rows of the intent's offset ranges (integers only, formatted here)."""
    parts = [f"(src_partition = {int(p)} AND src_offset BETWEEN {int(a)} AND {int(b)})" for p, a, b in ranges]
    return "src_topic = {topic:String} AND src_topic_id = {tid:String} AND (" + " OR ".join(parts) + ")"


def _bucket_repair(target: str, source: str, keys: str) -> str:
    """INSERT into `target` what it lacks against `source` (an aggregate per bucket key) for `keys`."""
    return (
        f"INSERT INTO {target} (bucket, algorithm, miner, worker, sum_difficulty, accepted, stale, rejected, "
        "first_ts, last_ts, last_accepted_ts, hardware) "
        "SELECT s.bucket, s.algorithm, s.miner, s.worker, s.sd - t.sd, toUInt64(s.acc - t.acc), "
        "toUInt64(s.st - t.st), toUInt64(s.rej - t.rej), s.f, s.l, s.la, s.hw "
        f"FROM ({source}) AS s LEFT JOIN (SELECT bucket, algorithm, miner, worker, sum(sum_difficulty) AS sd, "
        "toInt64(sum(accepted)) AS acc, toInt64(sum(stale)) AS st, toInt64(sum(rejected)) AS rej "
        f"FROM {target} WHERE (bucket, algorithm, miner, worker) IN ({keys}) "
        "GROUP BY bucket, algorithm, miner, worker) AS t USING (bucket, algorithm, miner, worker) "
        "WHERE s.acc >= t.acc AND s.st >= t.st AND s.rej >= t.rej AND (s.acc != t.acc OR s.st != t.st OR s.rej != t.rej)"
    )


def _minute_source(keys: str) -> str:
    return (
        "SELECT toDateTime(toStartOfMinute(ts)) AS bucket, algorithm, miner, worker, "
        "sumIf(difficulty, status = 'accepted') AS sd, toInt64(countIf(status = 'accepted')) AS acc, "
        "toInt64(countIf(status = 'stale')) AS st, toInt64(countIf(status NOT IN ('accepted', 'stale'))) AS rej, "
        "min(ts) AS f, max(ts) AS l, maxIf(ts, status = 'accepted') AS la, anyLast(hardware) AS hw "
        f"FROM shares WHERE (toDateTime(toStartOfMinute(ts)), algorithm, miner, worker) IN ({keys}) "
        "GROUP BY bucket, algorithm, miner, worker"
    )


def _coarse_source(unit: str, keys: str) -> str:
    return (
        f"SELECT toDateTime({unit}(m.bucket)) AS bucket, m.algorithm AS algorithm, m.miner AS miner, "
        "m.worker AS worker, sum(m.sum_difficulty) AS sd, toInt64(sum(m.accepted)) AS acc, "
        "toInt64(sum(m.stale)) AS st, toInt64(sum(m.rejected)) AS rej, min(m.first_ts) AS f, "
        "max(m.last_ts) AS l, max(m.last_accepted_ts) AS la, anyLast(m.hardware) AS hw "
        f"FROM shares_1m AS m WHERE (toDateTime({unit}(m.bucket)), m.algorithm, m.miner, m.worker) IN ({keys}) "
        "GROUP BY bucket, algorithm, miner, worker"
    )


def _scalar(client: Client, sql: str, params: dict[str, str] | None = None) -> int:
    return int(client.query(sql, parameters=params or {}).result_rows[0][0])


def complete(client: Client, topic: str, topic_id: str) -> Repair:
    """Complete the last INSERT of `topic` (this incarnation: `topic_id`) if a crash cut it short."""
    params = {"topic": topic, "tid": topic_id}
    found = client.query(
        "SELECT ranges, rows FROM insert_intents WHERE topic = {topic:String} AND topic_id = {tid:String} "
        "ORDER BY seq DESC LIMIT 1", parameters=params,
    ).result_rows
    if not found:
        return Repair()
    ranges, rows = json.loads(found[0][0]), int(found[0][1])
    where = _where(ranges)
    raw = _scalar(client, f"SELECT count() FROM shares WHERE {where}", params)
    if raw < rows:
        if raw:
            log.error("the last INSERT before a crash wrote %d of its %d rows (a batch spanning days); the "
                      "rest is replayed", raw, rows)
        return Repair(rows, raw)
    minute_keys = (f"SELECT DISTINCT toDateTime(toStartOfMinute(ts)) AS b, algorithm AS a, miner AS m, worker AS w "
                   f"FROM shares WHERE {where}")
    hour_keys = f"SELECT DISTINCT toDateTime(toStartOfHour(b)), a, m, w FROM ({minute_keys})"
    day_keys = f"SELECT DISTINCT toDateTime(toStartOfDay(b)), a, m, w FROM ({minute_keys})"
    steps = [
        ("shares_1m", _bucket_repair("shares_1m", _minute_source(minute_keys), minute_keys)),
        ("shares_1h", _bucket_repair("shares_1h", _coarse_source("toStartOfHour", hour_keys), hour_keys)),
        ("shares_1d", _bucket_repair("shares_1d", _coarse_source("toStartOfDay", day_keys), day_keys)),
        ("share_rejects_1m", (
            "INSERT INTO share_rejects_1m (bucket, algorithm, miner, worker, reason, shares) "
            "SELECT s.bucket, s.algorithm, s.miner, s.worker, s.reason, toUInt64(s.n - t.n) FROM "
            "(SELECT toDateTime(toStartOfMinute(ts)) AS bucket, algorithm, miner, worker, status AS reason, "
            "toInt64(count()) AS n FROM shares WHERE status != 'accepted' AND "
            f"(toDateTime(toStartOfMinute(ts)), algorithm, miner, worker) IN ({minute_keys}) "
            "GROUP BY bucket, algorithm, miner, worker, reason) AS s LEFT JOIN "
            "(SELECT bucket, algorithm, miner, worker, reason, toInt64(sum(shares)) AS n FROM share_rejects_1m "
            f"WHERE (bucket, algorithm, miner, worker) IN ({minute_keys}) "
            "GROUP BY bucket, algorithm, miner, worker, reason) AS t "
            "USING (bucket, algorithm, miner, worker, reason) WHERE s.n > t.n")),
        ("ingest_progress", (
            "INSERT INTO ingest_progress (topic, topic_id, partition, max_offset, rows) "
            "SELECT src_topic, src_topic_id, src_partition, max(src_offset), 0 FROM shares "
            f"WHERE {where} GROUP BY src_topic, src_topic_id, src_partition")),
    ]
    repaired = []
    for table, sql in steps:
        before = _scalar(client, f"SELECT count() FROM {table}")
        client.command(sql, parameters=params)
        if _scalar(client, f"SELECT count() FROM {table}") != before:
            repaired.append(table)
    if set(repaired) - {"ingest_progress"}:
        log.warning("completed the last INSERT a crash cut short (%d rows): rows added to %s", rows,
                    ", ".join(repaired))
    return Repair(rows, raw, tuple(repaired))

