"""One miner connection: framing, the Stratum V1 methods, per-connection difficulty and write buffering.

Requests are handled synchronously in `data_received`; only `mining.submit` waits (for its batch hash),
and its answer is written when the batch completes. Writes are buffered per connection and flushed once
per read or per verified batch, so a slow reader only fills its own buffer (see `Gateway.sweep`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kernels.targets import target_for_difficulty, target_le_bytes
from sources.stratum import protocol as p
from sources.stratum.identity import IdentityError, hardware_hint, parse_user, requested_difficulty
from sources.stratum.jobs import Job
from sources.stratum.protocol import StratumError
from sources.stratum.vardiff import Vardiff
from sources.stratum.verifier import PendingSubmit

if TYPE_CHECKING:
    from sources.stratum.gateway import PortRuntime

log = logging.getLogger(__name__)

VERSION = "poolstream/0.1.0"
MAX_INFLIGHT = 2048  # submits of one connection awaiting a hash before we stop reading from it


class Worker:
    """An authorized `address.worker` on a connection."""

    __slots__ = ("miner", "worker", "bucket")

    def __init__(self, miner: str, worker: str, bucket: int) -> None:
        self.miner = miner
        self.worker = worker
        self.bucket = bucket


class Session(asyncio.Protocol):
    def __init__(self, port: PortRuntime) -> None:
        self.port = port
        self.gw = port.gateway
        self.transport: asyncio.Transport | None = None
        self.ip = ""
        self.extranonce1 = b""
        self.subscribed = False
        self.workers: dict[str, Worker] = {}
        self.user_agent = ""
        self.hardware = ""
        self.vardiff: Vardiff | None = None
        self.difficulty = port.settings.start_difficulty
        self.prev_difficulty = 0.0  # the difficulty before the last change; shares at it still count
        self._target_cache: tuple[float, float, bytes, int] = (0.0, 0.0, b"", 0)
        self.mining = False  # set_difficulty + first notify sent
        self.last_read = 0.0
        self.write_paused_since = 0.0
        self.inflight = 0
        self.reading_paused = False
        self.closed = False
        self._out: list[bytes] = []
        self._handlers = {
            "mining.submit": self._submit,
            "mining.subscribe": self._subscribe,
            "mining.authorize": self._authorize,
            "mining.extranonce.subscribe": self._extranonce_subscribe,
            "mining.configure": self._configure,
            "mining.suggest_difficulty": self._suggest_difficulty,
            "mining.multi_version": self._true,
            "client.get_version": self._get_version,
            "mining.get_transactions": self._get_transactions,
        }
        self._framer = p.LineFramer(self.gw.settings.max_line_bytes)

    # -- transport callbacks ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else ""
        self.last_read = self.gw.loop.time()
        if not self.gw.admit(self):
            self.closed = True
            transport.abort()
            return
        transport.set_write_buffer_limits(high=self.gw.settings.write_buffer_bytes)
        self.extranonce1 = self.gw.next_extranonce1()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.gw.release(self)

    def pause_writing(self) -> None:
        self.write_paused_since = self.gw.loop.time()

    def resume_writing(self) -> None:
        self.write_paused_since = 0.0

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_read = self.gw.loop.time()
        try:
            lines = self._framer.feed(data)
        except p.LineTooLong:
            self.gw.refused("line_too_long")
            self.write(p.error(None, StratumError.OTHER, "Line too long"))
            self.close()
            return
        for line in lines:
            self._handle(line)
        self.flush()

    # -- output ----------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._out.append(data)

    def flush(self) -> None:
        if self._out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.flush()
            self.closed = True
            self.transport.close()

    def stop_reading(self) -> None:
        if self.transport is not None and not self.closed and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.closed = True
            self.transport.abort()

    # -- dispatch --------------------------------------------------------------------------------
    def _handle(self, line: bytes) -> None:
        try:
            req = p.decode_request(line)
        except p.MalformedMessage as exc:
            self.write(p.error(None, StratumError.OTHER, f"Malformed JSON-RPC message: {str(exc)[:80]}"))
            return
        handler = self._handlers.get(req.method)
        if handler is None:
            self.write(p.error(req.id, StratumError.OTHER, f"Unknown method {req.method[:64]!r}"))
            return
        params = req.params if isinstance(req.params, list) else []
        try:
            handler(req.id, params)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            self.write(p.error(req.id, StratumError.OTHER, f"Invalid params for {req.method}"))
            log.debug("bad params from %s for %s: %r", self.ip, req.method, exc)

    def _true(self, msg_id: Any, params: list[Any]) -> None:
        self.write(p.result(msg_id, True))

    def _get_version(self, msg_id: Any, params: list[Any]) -> None:
        self.write(p.result(msg_id, VERSION))

    def _get_transactions(self, msg_id: Any, params: list[Any]) -> None:
        self.write(p.result(msg_id, []))

    def _extranonce_subscribe(self, msg_id: Any, params: list[Any]) -> None:
        # The extranonce1 of a connection never changes, so mining.set_extranonce is never sent.
        self.write(p.result(msg_id, True))

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
                [[["mining.set_difficulty", sid], ["mining.notify", sid]], sid, self.gw.settings.extranonce2_size],
            )
        )
        if self.workers:
            self.start_mining()

    def _authorize(self, msg_id: Any, params: list[Any]) -> None:
        user = params[0] if params else None
        try:
            ident = parse_user(user, self.port.algorithm)
        except IdentityError as exc:
            self.write(p.error(msg_id, StratumError.UNAUTHORIZED, f"Unauthorized worker: {exc}"))
            return
        assert isinstance(user, str)
        self.workers[user] = Worker(ident.address, ident.worker, self.gw.bucket_of(ident.address))
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
        self.vardiff = Vardiff(self.port.vardiff_policy, self.difficulty, self.gw.loop.time())
        self.difficulty = self.vardiff.difficulty
        self.write(p.notification("mining.set_difficulty", [self.difficulty]))
        job = self.port.book.current
        if job is not None:
            self.write(p.notification("mining.notify", job.notify_params(True)))

    def set_difficulty(self, difficulty: float) -> None:
        """Change difficulty now: set_difficulty, then the current job again so it takes effect."""
        if difficulty == self.difficulty:
            return
        self.prev_difficulty = self.difficulty
        self.difficulty = difficulty
        if self.vardiff is not None:
            self.vardiff.reset(difficulty, self.gw.loop.time())
        self.write(p.notification("mining.set_difficulty", [difficulty]))
        job = self.port.book.current
        if job is not None:
            self.write(p.notification("mining.notify", job.notify_params(False)))

    def on_new_job(self, notify_line: bytes, clean: bool) -> None:
        if clean:
            self.prev_difficulty = 0.0  # shares of older jobs are stale now
        self.write(notify_line)

    def _targets(self) -> tuple[bytes, int]:
        """(easiest target as LE bytes, the current difficulty's target if a fallback exists else 0)."""
        d, prev = self.difficulty, self.prev_difficulty
        cd, cp, le, strict = self._target_cache
        if cd == d and cp == prev:
            return le, strict
        alg = self.port.algorithm.wire
        cur_target = target_for_difficulty(d, alg)
        if prev and prev < d:
            le, strict = target_le_bytes(target_for_difficulty(prev, alg)), cur_target
        else:
            le, strict = target_le_bytes(cur_target), 0
        self._target_cache = (d, prev, le, strict)
        return le, strict

    # -- submit ----------------------------------------------------------------------------------
    def _submit(self, msg_id: Any, params: list[Any]) -> None:
        port = self.port
        if not self.subscribed:
            self._reject(msg_id, StratumError.NOT_SUBSCRIBED, "Not subscribed", "unauthorized", params)
            return
        user = params[0] if params else None
        worker = self.workers.get(user) if isinstance(user, str) else None
        if worker is None:
            self._reject(msg_id, StratumError.UNAUTHORIZED, "Unauthorized worker", "unauthorized", params)
            return
        if len(params) < 5:
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        job_id, en2_hex, ntime_hex, nonce_hex = params[1], params[2], params[3], params[4]
        if not (type(job_id) is str and type(en2_hex) is str and type(ntime_hex) is str and type(nonce_hex) is str):
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        job = port.book.jobs.get(job_id)
        if job is None:
            reason = "stale" if port.book.is_retired(job_id) else "invalid"
            self._reject(msg_id, StratumError.JOB_NOT_FOUND, "Job not found", reason, params, worker)
            return
        try:
            if len(en2_hex) != self.gw.en2_hex_len:
                raise ValueError("extranonce2 size")
            en2 = bytes.fromhex(en2_hex)
            if len(ntime_hex) != 8 or len(nonce_hex) != 8:
                raise ValueError("ntime/nonce size")
            ntime = int(ntime_hex, 16)
            nonce = int(nonce_hex, 16)
        except ValueError:
            self._reject(msg_id, StratumError.OTHER, "Malformed submit", "malformed", params, worker)
            return
        if not job.ntime <= ntime <= job.ntime + self.gw.ntime_future_s:
            self._reject(msg_id, StratumError.OTHER, "ntime out of range", "invalid", params, worker)
            return
        key = self.extranonce1 + en2 + bytes.fromhex(ntime_hex + nonce_hex)  # 16 bytes per share seen
        if key in job.seen:
            self._reject(msg_id, StratumError.DUPLICATE, "Duplicate share", "duplicate", params, worker, job)
            return
        job.seen.add(key)
        target_le, strict = self._targets()
        self.inflight += 1
        if self.inflight >= MAX_INFLIGHT and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        port.verifier.add(
            PendingSubmit(
                self, msg_id, job, self.extranonce1, en2, ntime, nonce, target_le,
                self.difficulty, strict, self.prev_difficulty if strict else self.difficulty,
                worker.miner, worker.worker, worker.bucket, self.gw.loop.time(),
            )  # fmt: skip
        )

    def _reject(
        self, msg_id: Any, code: StratumError, message: str, reason: str, params: list[Any],
        worker: Worker | None = None, job: Job | None = None,
    ) -> None:  # fmt: skip
        self.write(p.error(msg_id, code, message))
        self.gw.record_rejected(self, worker, params, reason, job)

    def submit_done(self) -> None:
        """One of this connection's submits got its verdict (called by the gateway)."""
        self.inflight -= 1
        if self.reading_paused and self.inflight < MAX_INFLIGHT // 2 and self.transport is not None:
            self.reading_paused = False
            if not self.closed:
                self.transport.resume_reading()
