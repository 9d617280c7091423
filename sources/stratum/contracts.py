"""The two narrow interfaces between a miner's connection and the gateway around it, so that neither imports
the other: `Port` is what a `session.Session` may use of the listening port it came in on (implemented by
`gateway.PortRuntime`), `Connection` is what the gateway side (admission, job loop, verdicts, sweep) may use
of a session, `Closable` the part of it that closing needs. Per-submit members are plain attributes (bound methods included): no extra call on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from schemas.algorithms import Algorithm
from sources.stratum.identity import Worker
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import Job
from sources.stratum.vardiff import Vardiff, VardiffPolicy
from sources.stratum.verifier import PendingSubmit


class Closable(Protocol):
    """What closing a connection needs (`admission.Admission.close_later`)."""

    closed: bool
    closing: bool  # queued to be closed: what it sends is dropped unread

    def shut(self, message: str) -> None:
        """Closed by a safety rule: a last JSON-RPC error with `message`, then close."""
        ...


class Connection(Closable, Protocol):
    """One miner connection as the gateway side sees it."""

    ip: str
    hardware: str  # cpu/gpu/asic hint from the user agent, or ""
    difficulty: float  # the current difficulty
    vardiff: Vardiff | None  # None until the connection mines
    mining: bool  # subscribed and authorized: set_difficulty and a first notify were sent

    def stop_reading(self) -> None:
        """Take no new request (shutdown: what is queued still gets its verdict)."""
        ...

    def answer(self, line: bytes) -> None:
        """Queue the answer to one of this connection's verified submits (it no longer counts as in flight)."""
        ...

    def flush(self) -> None:
        """Write what was queued (once per read or per verified batch)."""
        ...

    def close(self) -> None: ...

    def abort(self) -> None:
        """Drop the connection at once (nothing more is written)."""
        ...

    def set_difficulty(self, difficulty: float) -> None:
        """Send `mining.set_difficulty` and the current job under a fresh job_id (no-op if unchanged)."""
        ...

    def on_new_job(self, job: Job, notify_line: bytes, clean: bool) -> None:
        """Queue a broadcast `mining.notify` for `job` (clean: forget the jobs sent before)."""
        ...

    def check(self, now: float, idle_before: float, drain_before: float, line_before: float) -> None:
        """Periodic sweep: close the connection if idle, stuck slow or dripping a line, or let vardiff lower
        its difficulty."""
        ...


class Port(Protocol):
    """What a session may use of its listening port: the job book, the difficulty policy, admission, and
    where submits go (hashed in batches; the verdict comes back through `Connection.answer`)."""

    algorithm: Algorithm
    book: JobBook  # live jobs of the port: the current one, job_id -> Job, retired job_ids
    vardiff_policy: VardiffPolicy
    start_difficulty: float
    extranonce2_size: int
    en2_hex_len: int  # 2 * extranonce2_size: the length of a submit's extranonce2 in hex
    ntime_future_s: int  # a submit's ntime may run ahead of its job's by this much
    max_line_bytes: int
    write_buffer_bytes: int
    max_errors: int  # protocol errors a connection may make at once (refilled at this many per minute)
    max_workers: int  # distinct users authorized on one connection
    authorize_rate: float  # mining.authorize per connection per second (burst: max_workers)
    #: the event loop's monotonic clock (seconds)
    time: Callable[[], float]
    #: queue a submit for batch verification
    verify: Callable[[PendingSubmit], None]
    #: record a submit rejected before hashing (connection, its worker if authorized, the submit's params,
    #: the reason, the job it named if known): a share event, and a vote toward banning the IP
    rejected: Callable[[Connection, Worker | None, list[Any], str, Job | None], None]

    def admit(self, conn: Connection) -> bool:
        """A new connection: False if a limit or a ban refuses it (the session then aborts)."""
        ...

    def release(self, conn: Connection) -> None:
        """The connection is gone (idempotent)."""
        ...

    def adopt(self, conn: Connection) -> bool:
        """A connection that logged in at the door process (`door.py`): counted in, never refused by a
        limit; False only when shutting down."""
        ...

    def authorized(self, conn: Connection) -> None:
        """The connection subscribed and authorized: its login timeout no longer runs."""
        ...

    def strike(self, ip: str, reason: str) -> None:
        """A connection of `ip` was closed for abuse (enough of them ban the IP)."""
        ...

    def close_later(self, conn: Closable, message: str) -> None:
        """Close `conn` (with a last JSON-RPC error `message`) within a few loop iterations, in bounded
        batches; it reads nothing more meanwhile."""
        ...

    def next_extranonce1(self) -> bytes: ...

    def bucket_of(self, miner: str) -> int:
        """The share partition of a miner's address."""
        ...

    def clamp(self, difficulty: float) -> float:
        """`difficulty` within the port's min/max."""
        ...
