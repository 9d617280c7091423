"""Bounded memory for the embedded broker: recycle it once everything it holds is durably consumed.

The embedded Tansu build keeps every byte produced in memory and enforces no retention; deleting records is
not implemented in it, but a fresh process holds nothing. So when the broker's resident memory passes
`EMBEDDED_BROKER_RECYCLE_MB`, the broker service recycles it:

1. Pre-check (no pause): every consumer group is close to the end of what it consumes.
2. Close the produce gate (`poolstream.broker_gate`): new Produce requests wait, earlier ones are answered.
3. Wait (at most `drain_timeout_s`) until every group has committed up to the end of every partition it
   consumes — the agents commit only what ClickHouse holds, so nothing in the broker is still needed.
   Otherwise: open the gate, try again at the next check (health says what blocks it).
4. Start a new Tansu on a new internal port, create the same topics, switch the relay to it, close the
   client connections (clients reconnect and resend what the gate held), stop the old Tansu, open the gate.

Consumers notice a new broker epoch: their group is gone, they rejoin and start the (new) topics from
offset 0; topic ids changed, so an agent's replay watermarks start anew (`streams.faust_source`).
What a topic nobody consumes held (dead letters nobody reads) goes with the old broker: counted, logged,
and in the stats file. The pause producers see is the drain time, bounded by `drain_timeout_s`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    OffsetSpec,
)

from bus.config import client_config

TP = tuple[str, int]


@dataclass
class Snapshot:
    """What the broker holds and what each consumer group has committed, at one moment."""

    partitions: dict[str, int] = field(default_factory=dict)  # topic -> partition count
    ends: dict[TP, int] = field(default_factory=dict)  # high watermark per partition
    committed: dict[str, dict[TP, int]] = field(default_factory=dict)  # group -> committed offset per partition
    assigned: dict[str, set[str]] = field(default_factory=dict)  # group -> topics its members are assigned
    rebalancing: set[str] = field(default_factory=set)  # groups between assignments: their topics are unknown

    def topics_of(self, group: str) -> set[str]:
        """The topics `group` consumes: those it committed offsets of, or its members are assigned."""
        return {t for (t, _p) in self.committed.get(group, {})} | self.assigned.get(group, set())

    def groups(self) -> set[str]:
        return set(self.committed) | set(self.assigned)

    def lag(self) -> dict[tuple[str, str, int], int]:
        """(group, topic, partition) -> messages behind the end (Tansu's end counts a batch's first offset,
        so a group past the last batch's first record is at the end)."""
        out = {}
        for group in self.groups():
            topics, offsets = self.topics_of(group), self.committed.get(group, {})
            for tp, end in self.ends.items():
                behind = end - offsets.get(tp, 0) if tp[0] in topics else 0
                if behind > 0:
                    out[(group, *tp)] = behind
        return out

    def unconsumed(self) -> dict[str, int]:
        """Topics no group consumes -> messages they hold (gone at a recycle)."""
        consumed_topics = {t for group in self.groups() for t in self.topics_of(group)}
        out: dict[str, int] = {}
        for (topic, _p), end in self.ends.items():
            if topic not in consumed_topics and end > 0:
                out[topic] = out.get(topic, 0) + end
        return out

    def unconsumed_by_topic(self) -> dict[str, int]:
        """Messages not yet consumed, per topic: behind the slowest group that reads it, or all of a topic no
        group reads."""
        out = self.unconsumed()
        slowest: dict[tuple[str, int], int] = {}
        for (_group, topic, partition), behind in self.lag().items():
            slowest[(topic, partition)] = max(slowest.get((topic, partition), 0), behind)
        for (topic, _partition), behind in slowest.items():
            out[topic] = out.get(topic, 0) + behind
        return {t: n for t, n in out.items() if n > 0}

    def committed_total(self, group: str) -> int:
        return sum(self.committed.get(group, {}).values())

    def blocker(self, max_lag: int = 0, disposable: frozenset[str] = frozenset(),
                allowance: Mapping[str, float] | None = None) -> str:
        """Why the broker cannot be recycled now ('' when it can): a rebalancing group, a topic with messages
        no group consumes (unless `disposable`), or the group furthest behind — by more than `max_lag` plus
        its `allowance` (what it consumes in a moment: a group that commits once a second is always about a
        second behind a busy producer)."""
        if self.rebalancing:
            return f"group {sorted(self.rebalancing)[0]} is rebalancing"
        kept = {t: n for t, n in self.unconsumed().items() if t not in disposable}
        if kept:
            topic, count = max(kept.items(), key=lambda kv: kv[1])
            return f"topic {topic} holds {count} messages and no consumer group reads it (start poolstream run)"
        allowance = allowance or {}
        lags = {k: v for k, v in self.lag().items() if v > max_lag + allowance.get(k[0], 0.0)}
        if not lags:
            return ""
        (group, topic, partition), behind = max(lags.items(), key=lambda kv: kv[1])
        return f"group {group} is {behind} messages behind on {topic}[{partition}]"


def admin(bootstrap: str) -> AdminClient:
    return AdminClient(client_config(bootstrap))


def snapshot(bootstrap: str, timeout_s: float = 5.0) -> Snapshot:
    """Topics, end offsets and every group's committed offsets. Raises KafkaException if unreachable."""
    client = admin(bootstrap)
    metadata = client.list_topics(timeout=timeout_s)
    snap = Snapshot(partitions={name: len(t.partitions) for name, t in metadata.topics.items()
                                if not name.startswith("__")})
    tps = [TopicPartition(t, p) for t, n in snap.partitions.items() for p in range(n)]
    if tps:
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        futures = client.list_offsets({tp: latest for tp in tps}, request_timeout=timeout_s)
        for tp, future in futures.items():
            snap.ends[(tp.topic, tp.partition)] = int(future.result().offset)
    groups = [listing.group_id for listing in client.list_consumer_groups(request_timeout=timeout_s).result().valid]
    if groups:
        for group, future in client.describe_consumer_groups(groups, request_timeout=timeout_s).items():
            description = future.result()
            if description.state not in (ConsumerGroupState.STABLE, ConsumerGroupState.EMPTY):
                snap.rebalancing.add(group)
            topics = {tp.topic for member in description.members or []
                      for tp in (member.assignment.topic_partitions if member.assignment else [])}
            if topics:
                snap.assigned[group] = topics
    for group in groups:
        request = [ConsumerGroupTopicPartitions(group)]
        for result in client.list_consumer_group_offsets(request, request_timeout=timeout_s).values():
            offsets = {(tp.topic, tp.partition): int(tp.offset) for tp in result.result().topic_partitions or []
                       if tp.offset >= 0}
            if offsets:
                snap.committed[group] = offsets
    return snap


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0

