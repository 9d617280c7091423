"""Topic names: the one place they are spelled. A deployment may prefix them all (`KAFKA_TOPIC_PREFIX`)."""

from __future__ import annotations

from dataclasses import dataclass

SHARES = "shares"
SHARES_REJECTED = "shares.rejected"
BLOCKS = "blocks"
BLOCKS_REJECTED = "blocks.rejected"
JOBS = "jobs"
TELEMETRY = "telemetry"
TELEMETRY_REJECTED = "telemetry.rejected"

ALL = (SHARES, SHARES_REJECTED, BLOCKS, BLOCKS_REJECTED, JOBS, TELEMETRY, TELEMETRY_REJECTED)


@dataclass(frozen=True)
class TopicNames:
    """The concrete topic names of one deployment (tests use a random prefix per session)."""

    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def shares(self) -> str:
        return self.name(SHARES)

    @property
    def shares_rejected(self) -> str:
        return self.name(SHARES_REJECTED)

    @property
    def blocks(self) -> str:
        return self.name(BLOCKS)

    @property
    def blocks_rejected(self) -> str:
        return self.name(BLOCKS_REJECTED)

    @property
    def jobs(self) -> str:
        return self.name(JOBS)

    @property
    def telemetry(self) -> str:
        return self.name(TELEMETRY)

    @property
    def telemetry_rejected(self) -> str:
        return self.name(TELEMETRY_REJECTED)

    def disposable(self) -> tuple[str, ...]:
        """Topics whose messages may be dropped when nobody consumes them (dead letters, job announcements);
        the embedded broker's recycling waits for every other topic to be consumed."""
        return self.shares_rejected, self.blocks_rejected, self.telemetry_rejected, self.jobs

    def all(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in ALL)
