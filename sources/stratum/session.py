"""One miner connection: the Stratum V1 methods, per-connection difficulty and the jobs sent to it.

Framing, buffered output, closing and the per-connection limits are `connection.LineConnection`'s; this
class handles each complete line. Requests are handled synchronously; only `mining.submit` waits (for its
batch hash): it goes to the port's verifier and its answer comes back through `answer` when the batch
completes. Writes are flushed once per read or per verified batch. `mining.authorize` is rate limited
(`authorize_rate_per_s`, a burst of `max_workers_per_connection`) and at most `max_workers_per_connection`
users are authorized on one connection. The method table is the class's (a table of bound methods per
instance would make every session a reference cycle).

A session knows its port only through `contracts.Port` and never imports the gateway; the gateway side
uses it through `contracts.Connection`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from kernels.targets import target_for_difficulty, target_le_bytes
from schemas.config import VERSION as POOLSTREAM_VERSION
from schemas.hardware import hardware_hint
from schemas.identity import IdentityError, parse_user
from sources.stratum import protocol as p
from sources.stratum.connection import LineConnection
from sources.stratum.contracts import Port
from sources.stratum.identity import Worker, requested_difficulty
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import Job
from sources.stratum.protocol import StratumError
from sources.stratum.vardiff import Vardiff
from sources.stratum.verifier import PendingSubmit

log = logging.getLogger(__name__)

VERSION = f"poolstream/{POOLSTREAM_VERSION}"  # answer to client.get_version
MAX_INFLIGHT = 2048  # submits of one connection awaiting a hash before we stop reading from it
SENT_KEPT = 64  # job_ids remembered per connection (with their difficulty); retired jobs are dropped first


class Session(LineConnection):
    """One miner connection (an asyncio protocol); implements `contracts.Connection`."""

    __slots__ = ("extranonce1", "subscribed", "workers", "user_agent", "hardware", "vardiff", "difficulty", "sent",
                 "_targets", "mining", "inflight", "_auth_left", "_auth_at")  # fmt: skip

    def __init__(self, port: Port) -> None:
        super().__init__(port)
        self.extranonce1 = b""
        self.subscribed = False
        self.workers: dict[str, Worker] = {}
        self.user_agent = ""
        self.hardware = ""
        self.vardiff: Vardiff | None = None
        self.difficulty = port.start_difficulty
        # Every job_id sent to this miner -> (job, the difficulty announced with it, its ntime). A share is
        # judged and credited at the difficulty of the job it names (or the current one if lower): miners
        # such as cpuminer apply `mining.set_difficulty` only when a notify brings a new job_id.
        self.sent: OrderedDict[str, tuple[Job, float, int]] = OrderedDict()
        self._targets: dict[float, bytes] = {}
        self.mining = False  # set_difficulty + first notify sent
        self.inflight = 0
        self._auth_left = float(port.max_workers)
        self._auth_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self.port.admit(self):  # refused: counted and logged by admission
            self.abort()
            return
        self.extranonce1 = self.port.next_extranonce1()

    def connection_lost(self, exc: Exception | None) -> None:
        left = not (self.closed or self.closing or self.mining)  # it went away (not closed by us) before mining
        super().connection_lost(exc)
        self.port.release(self)
        if left and self.extranonce1:  # (admitted: a refused connection has no extranonce1)
            self.port.strike(self.ip, "left_unauthorized")

    def check(self, now: float, idle_before: float, drain_before: float, line_before: float) -> None:
        """Periodic (the gateway's sweep): the connection's limits, then let vardiff lower the difficulty of
        a miner that has been silent too long."""
        if not self.check_limits(idle_before, drain_before, line_before) and self.vardiff is not None:
            new = self.vardiff.on_tick(now)
            if new is not None:
                self.set_difficulty(new)
                self.flush()

    # -- dispatch --------------------------------------------------------------------------------
    def handle_line(self, line: bytes) -> None:
        try:
            req = p.decode_request(line)
        except p.MalformedMessage as exc:
            self.error(None, StratumError.OTHER, f"Malformed JSON-RPC message: {str(exc)[:80]}", "malformed")
            return
        handler = _HANDLERS.get(req.method)
        if handler is None:
            constant = _CONSTANT.get(req.method, _UNKNOWN)
            if constant is _UNKNOWN:
                self.error(req.id, StratumError.OTHER, f"Unknown method {req.method[:64]!r}", "unknown_method")
            else:
                self.write(p.result(req.id, constant))
            return
        params = req.params if isinstance(req.params, list) else []
        try:
            handler(self, req.id, params)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            self.error(req.id, StratumError.OTHER, f"Invalid params for {req.method}", "bad_params")
            log.debug("bad params from %s for %s: %r", self.ip, req.method, exc)

    def _configure(self, msg_id: Any, params: list[Any]) -> None:
        # BIP 310: decline every extension (version rolling included); miners then use plain versions.
        exts = params[0] if params and isinstance(params[0], list) else []
        self.write(p.result(msg_id, {str(e): False for e in exts if isinstance(e, str)}))

    def _subscribe(self, msg_id: Any, params: list[Any]) -> None:
        if params and isinstance(params[0], str):
            self.user_agent = params[0][:128]
            self.hardware = hardware_hint(self.user_agent)
        self.subscribed = True
        sid = self.extranonce1.hex()
        self.write(
            p.result(
                msg_id,
                [[["mining.set_difficulty", sid], ["mining.notify", sid]], sid, self.port.extranonce2_size],
            )
        )
        if self.workers:
            self.start_mining()

    def _authorize(self, msg_id: Any, params: list[Any]) -> None:
        port = self.port
        user = params[0] if params else None
        if len(self.workers) >= port.max_workers and not (isinstance(user, str) and user in self.workers):
            self.error(msg_id, StratumError.UNAUTHORIZED, "Too many workers on this connection", "too_many_workers")
            return
        now = port.time()
        self._auth_left = min(port.max_workers, self._auth_left + (now - self._auth_at) * port.authorize_rate)
        self._auth_at = now
        if self._auth_left < 1:
            self.error(msg_id, StratumError.OTHER, "Too many authorize requests", "authorize_rate")
            return
        self._auth_left -= 1
        try:
            ident = parse_user(user, port.algorithm)
        except IdentityError as exc:
            self.error(msg_id, StratumError.UNAUTHORIZED, f"Unauthorized worker: {exc}", "authorize_failed")
            return
        assert isinstance(user, str)
        self.workers[user] = Worker(ident.address, ident.worker, ident.coin, self.port.bucket_of(ident.address))
        wanted = requested_difficulty(params[1] if len(params) > 1 else None)
        self.write(p.result(msg_id, True))
        if wanted is not None and not self.mining:
            self.difficulty = self.port.clamp(wanted)
        if self.subscribed:
            self.start_mining()

    def _suggest_difficulty(self, msg_id: Any, params: list[Any]) -> None:
        d = float(params[0])
        if not d > 0:
            raise ValueError("difficulty must be positive")
        self.write(p.result(msg_id, True))
        if not self.mining:
            self.difficulty = self.port.clamp(d)
        else:
            self.set_difficulty(self.port.clamp(d))

    # -- jobs and difficulty ---------------------------------------------------------------------
    def start_mining(self) -> None:
        """First set_difficulty then the current job (clean), once subscribed and authorized."""
        if self.mining:
            return
        self.mining = True
        self.port.authorized(self)
        self.vardiff = Vardiff(self.port.vardiff_policy, self.difficulty, self.port.time())
        self.difficulty = self.vardiff.difficulty
        self.write(p.notification("mining.set_difficulty", [self.difficulty]))
        job = self.port.book.current
        if job is not None:
            self._remember(job.job_id, job, job.ntime)
            self.write(p.notification("mining.notify", job.notify_params(True)))

    def set_difficulty(self, difficulty: float) -> None:
        """Change difficulty now: set_difficulty, then the current job under a fresh job_id.

        The fresh job_id is what makes every miner switch (cpuminer ignores a difficulty until a notify
        brings a new job_id); its ntime is one second later than any this connection got for the job, so
        the miner's restarted extranonce2/nonce sequence cannot repeat shares it already submitted. The
        job_ids sent before keep their own difficulty.
        """
        if difficulty == self.difficulty:
            return
        self.difficulty = difficulty
        if self.vardiff is not None:
            self.vardiff.reset(difficulty, self.port.time())
        self.write(p.notification("mining.set_difficulty", [difficulty]))
        job = self.port.book.current
        if job is not None:
            ntime = 1 + max((nt for j, _, nt in self.sent.values() if j is job), default=job.ntime)
            if ntime > job.ntime + self.port.ntime_future_s:
                ntime = job.ntime + self.port.ntime_future_s
            alias = JobBook.new_id()
            self._remember(alias, job, ntime)
            params = job.notify_params(False)
            params[0], params[7] = alias, f"{ntime:08x}"
            self.write(p.notification("mining.notify", params))

    def on_new_job(self, job: Job, notify_line: bytes, clean: bool) -> None:
        if clean:
            self.sent.clear()  # older jobs are stale now
        self._remember(job.job_id, job, job.ntime)
        self.write(notify_line)

    def _remember(self, job_id: str, job: Job, ntime: int) -> None:
        """Bind `job_id` to the current difficulty; forget retired jobs and the oldest beyond `SENT_KEPT`."""
        self.sent[job_id] = (job, self.difficulty, ntime)
        if len(self.sent) > SENT_KEPT // 2:
            live = self.port.book.jobs
            for key in [k for k, (j, _, _) in self.sent.items() if live.get(j.job_id) is not j]:
                del self.sent[key]
            while len(self.sent) > SENT_KEPT:
                self.sent.popitem(last=False)

    def _target_le(self, difficulty: float) -> bytes:
        le = self._targets.get(difficulty)
        if le is None:
            if len(self._targets) > 16:
                self._targets.clear()
            le = self._targets[difficulty] = target_le_bytes(
                target_for_difficulty(difficulty, self.port.algorithm.wire)
            )
        return le

    # -- submit ----------------------------------------------------------------------------------
    def _submit(self, msg_id: Any, params: list[Any]) -> None:
        port = self.port
        if not self.subscribed:
            self._reject(msg_id, StratumError.NOT_SUBSCRIBED, "Not subscribed", "unauthorized", params)
            self.spend_error()
            return
        user = params[0] if params else None
        worker = self.workers.get(user) if isinstance(user, str) else None
        if worker is None:
            self._reject(msg_id, StratumError.UNAUTHORIZED, "Unauthorized worker", "unauthorized", params)
            self.spend_error()
            return
        if len(params) < 5:
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        job_id, en2_hex, ntime_hex, nonce_hex = params[1], params[2], params[3], params[4]
        if not (type(job_id) is str and type(en2_hex) is str and type(ntime_hex) is str and type(nonce_hex) is str):
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        sent = self.sent.get(job_id)
        base_id = sent[0].job_id if sent is not None else job_id
        job = port.book.jobs.get(base_id)
        if job is None:
            reason = "stale" if port.book.is_retired(base_id) else "invalid"
            self._reject(msg_id, StratumError.JOB_NOT_FOUND, "Job not found", reason, params, worker)
            return
        # the difficulty the job was announced with, or the current one if lower (never more)
        difficulty = min(sent[1], self.difficulty) if sent is not None else self.difficulty
        try:
            if len(en2_hex) != port.en2_hex_len:
                raise ValueError("extranonce2 size")
            en2 = bytes.fromhex(en2_hex)
            if len(ntime_hex) != 8 or len(nonce_hex) != 8:
                raise ValueError("ntime/nonce size")
            ntime = int(ntime_hex, 16)
            nonce = int(nonce_hex, 16)
        except ValueError:
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        if not job.ntime <= ntime <= job.ntime + port.ntime_future_s:
            self._reject(msg_id, StratumError.OTHER, "ntime out of range", "invalid", params, worker)
            return
        key = self.extranonce1 + en2 + bytes.fromhex(ntime_hex + nonce_hex)  # 16 bytes per share seen
        if key in job.seen:
            self._reject(msg_id, StratumError.DUPLICATE, "Duplicate share", "duplicate", params, worker, job)
            return
        job.seen.add(key)
        self.inflight += 1
        if self.inflight >= MAX_INFLIGHT and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        port.verify(
            PendingSubmit(
                self, msg_id, job, self.extranonce1, en2, ntime, nonce, self._target_le(difficulty),
                difficulty, 0, difficulty, worker, port.time(),
            )  # fmt: skip
        )

    def _reject(
        self, msg_id: Any, code: StratumError, message: str, reason: str, params: list[Any],
        worker: Worker | None = None, job: Job | None = None,
    ) -> None:  # fmt: skip
        self.write(p.error(msg_id, code, message))
        self.port.rejected(self, worker, params, reason, job)

    def answer(self, line: bytes) -> None:
        """One of this connection's submits got its verdict (from `verdicts.Verdicts`): queue the answer and
        resume reading if the in-flight submits fell back under the limit."""
        self._out.append(line)
        self.inflight -= 1
        if self.reading_paused and self.inflight < MAX_INFLIGHT // 2 and self.transport is not None:
            if not self.closed and not self.closing:  # (a closing one, or a gateway shutting down, stays paused)
                self.reading_paused = False
                self.transport.resume_reading()


_UNKNOWN = object()
#: Methods answered with a constant result. The extranonce1 of a connection never changes, so
#: mining.set_extranonce is never sent after `mining.extranonce.subscribe`.
_CONSTANT: dict[str, Any] = {
    "mining.multi_version": True,
    "mining.extranonce.subscribe": True,
    "client.get_version": VERSION,
    "mining.get_transactions": [],
}
#: The other methods: plain functions of the class (a per-instance table of bound methods would make every
#: session a reference cycle, left to the cyclic garbage collector: see docs/architecture.md).
_HANDLERS: dict[str, Callable[[Session, Any, list[Any]], None]] = {
    "mining.submit": Session._submit,
    "mining.subscribe": Session._subscribe,
    "mining.authorize": Session._authorize,
    "mining.configure": Session._configure,
    "mining.suggest_difficulty": Session._suggest_difficulty,
}
