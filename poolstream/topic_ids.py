"""Which incarnation of each input topic the agents read: the broker's topic id, refreshed at every partition
assignment. A topic re-created, or an embedded broker recycled or restarted, starts its offsets at 0 again
under a new id; dedup tokens and replay watermarks are keyed by it, so new offsets never look like replays."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust

from bus.admin import topic_id

log = logging.getLogger("poolstream")


async def refresh_topic_ids(bootstrap: str, ids: dict[str, str], topics: Sequence[str],
                            changed: Callable[[str], None] = lambda _topic: None) -> None:
    """Read the broker's id of each topic: a new id is a new offset sequence (the topic was re-created, or
    the embedded broker was recycled or restarted), so replay watermarks (`changed`) and dedup tokens start
    anew."""
    for topic in topics:
        new = await asyncio.to_thread(topic_id, bootstrap, topic)
        if ids.get(topic, new) != new:
            log.info("topic %s has a new broker id (%s, was %s): its offsets start anew", topic, new, ids[topic])
            changed(topic)
        ids[topic] = new


def follow_topic_ids(app: faust.App, bootstrap: str, ids: dict[str, str], topics: Sequence[str],
                     changed: Callable[[str], None] = lambda _topic: None) -> None:
    """Refresh `ids` at every partition assignment, before the agents get the assigned partitions' messages
    (Faust awaits its assignment signal before fetching). A topic with a new id starts at offset 0, so Faust's
    own read position of its partitions is cleared (Faust skips offsets at or below the last one it read).
    The Kafka client needs no seek: a new assignment starts at the group's committed offset, and the new
    incarnation has none (reset to earliest). Seeking the client from here would touch its fetch state from
    the wrong thread (Faust runs it on a thread of its own)."""
    async def assigned(sender: Any, tps: Iterable[Any] = (), /, *args: Any, **kwargs: Any) -> None:
        renewed: list[str] = []

        def note(topic: str) -> None:
            renewed.append(topic)
            changed(topic)

        await refresh_topic_ids(bootstrap, ids, topics, note)
        for tp in tps:
            if tp.topic in renewed:
                forget_read_position(app.consumer, tp)

    app.on_partitions_assigned.connect(assigned)


def forget_read_position(consumer: Any, tp: Any) -> None:
    """Faust's side of a seek to 0 (`faust.transport.consumer.Consumer.seek`), without the client's: the
    partition's last read offset is dropped, so offsets restarting at 0 are read."""
    consumer._read_offset[tp] = None
