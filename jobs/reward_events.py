"""The SFR rewards' webhook events (issue 11): `factors.updated` and `reward.distributed`, as the rewards API
wrote them into `reward_audit` (a row with `event` set; its `event_body` is the seed's JSON). The notification
job (`jobs.alert_notify`) asks `reward_deliveries` for the recent ones and enqueues each once per webhook URL
in the signed outbox of issue 10 (event key `reward:<audit_id>`, so a rerun enqueues nothing new); the
outbox signs, retries and records them like alert events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from notify.outbox import Delivery, new_delivery

EVENTS = ("factors.updated", "reward.distributed")
_RECENT = ("SELECT audit_id, event, event_body FROM reward_audit WHERE event IN {events:Array(String)} "
           "AND at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') ORDER BY at, audit_id LIMIT 10000")


def reward_deliveries(client: Client, webhook_urls: Sequence[str], since: dt.datetime,
                      now: dt.datetime) -> list[Delivery]:
    """A pending delivery per (reward event written since `since`, webhook URL)."""
    if not webhook_urls:
        return []
    rows = client.query(_RECENT, parameters={"events": list(EVENTS), "since": int(since.timestamp() * 1000)}).result_rows
    return [new_delivery(f"reward:{audit_id}", str(event), "webhook", url, str(body), now)
            for audit_id, event, body in rows for url in webhook_urls]
