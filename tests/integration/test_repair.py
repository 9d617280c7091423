"""Completing an INSERT a crash cut short (`sinks.repair`): the raw rows landed, some materialized views did
not (made here by detaching the views during the INSERT). At start the rollups get exactly what they lack,
`ingest_progress` covers the batch (its replay is skipped, not stored twice), and repeating it adds nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from clickhouse_connect.driver.client import Client

from sinks import repair
from sinks.shares import ShareWriter

pytestmark = pytest.mark.integration

COLUMNS = ["ts", "algorithm", "miner", "worker", "difficulty", "network_difficulty", "status", "job_id",
           "extranonce2", "ntime", "nonce", "ip", "hardware", "coin", "share_key", "src_topic", "src_topic_id",
           "src_partition", "src_offset", "ingested_at"]
MINER = "bc1qexampleminer0000000000000000000000dddd"


def rows(first_offset: int, n: int, partition: int = 1) -> list[list[object]]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return [[now - dt.timedelta(seconds=i), "sha256d", MINER, f"w{i % 3}", 2.0, 1e12,
             "accepted" if i % 5 else "stale", "j", f"{i:08x}", 1, first_offset + i, "", "asic", "BTC",
             first_offset * 1000 + i, "shares", "TID", partition, first_offset + i, now] for i in range(n)]


def totals(ch: Client) -> dict[str, int]:
    q = {
        "raw": "SELECT count() FROM shares",
        "m": "SELECT sum(accepted + stale + rejected) FROM shares_1m",
        "h": "SELECT sum(accepted + stale + rejected) FROM shares_1h",
        "d": "SELECT sum(accepted + stale + rejected) FROM shares_1d",
        "rej": "SELECT sum(shares) FROM share_rejects_1m",
        "raw_rej": "SELECT countIf(status != 'accepted') FROM shares",
        "wm": "SELECT max(max_offset) FROM ingest_progress WHERE topic_id = 'TID' AND partition = 1",
    }
    return {k: int(ch.query(sql).result_rows[0][0]) for k, sql in q.items()}


def test_a_cut_short_insert_is_completed_once(clickhouse: Client) -> None:
    writer = ShareWriter(clickhouse)
    clickhouse.insert("shares", rows(0, 40), column_names=COLUMNS)  # an earlier, complete batch
    writer.record_intent("shares", "TID", "tok-b", [[1, 40, 69]], 30)
    for view in ("shares_1h_mv", "ingest_progress_shares_mv", "share_rejects_1m_mv"):
        clickhouse.command(f"DETACH TABLE {view}")
    clickhouse.insert("shares", rows(40, 30), column_names=COLUMNS)  # the INSERT the crash cut short
    for view in ("shares_1h_mv", "ingest_progress_shares_mv", "share_rejects_1m_mv"):
        clickhouse.command(f"ATTACH TABLE {view}")
    before = totals(clickhouse)
    assert before["raw"] == before["m"] == before["d"] == 70 and before["h"] == 40 and before["wm"] == 39

    done = writer.complete_last_insert("shares", "TID")
    assert (done.intent_rows, done.raw_rows) == (30, 30)
    assert set(done.repaired) == {"shares_1h", "share_rejects_1m", "ingest_progress"}
    after = totals(clickhouse)
    assert after["raw"] == after["m"] == after["h"] == after["d"] == 70
    assert after["rej"] == after["raw_rej"] and after["wm"] == 69
    difficulty = clickhouse.query("SELECT (SELECT sum(sum_difficulty) FROM shares_1h), "
                                  "(SELECT sumIf(difficulty, status = 'accepted') FROM shares)").result_rows[0]
    assert abs(difficulty[0] - difficulty[1]) < 1e-9

    again = writer.complete_last_insert("shares", "TID")
    assert set(again.repaired) <= {"ingest_progress"} and totals(clickhouse) == after


def test_an_intent_whose_rows_never_landed_is_left_to_the_replay(clickhouse: Client) -> None:
    writer = ShareWriter(clickhouse)
    writer.record_intent("shares", "TID", "tok-c", [[1, 0, 9]], 10)
    done = repair.complete(clickhouse, "shares", "TID")
    assert (done.intent_rows, done.raw_rows, done.repaired) == (10, 0, ())
    assert totals(clickhouse)["wm"] == 0 and totals(clickhouse)["raw"] == 0
    stored = json.loads(clickhouse.query("SELECT ranges FROM insert_intents").result_rows[0][0])
    assert stored == [[1, 0, 9]]
    assert repair.complete(clickhouse, "shares", "OTHER") == repair.Repair()
