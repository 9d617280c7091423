"""What every listening port's `contracts.Port` holds, in the gateway (`gateway.PortRuntime`) and at the door
(`door.DoorPort`) alike: the port's settings and limits, the loop's clock, the admission it answers to, its
job book and vardiff policy."""

from __future__ import annotations

from collections.abc import Callable

from sources.stratum.admission import Admission
from sources.stratum.contracts import Connection
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import CoinbasePolicy
from sources.stratum.settings import PortSettings, StratumSettings
from sources.stratum.vardiff import VardiffPolicy


class PortBase:
    """The part of a `contracts.Port` that only reads settings and admission."""

    def __init__(self, s: StratumSettings, settings: PortSettings, time: Callable[[], float], admission: Admission,
                 policy: CoinbasePolicy) -> None:  # fmt: skip
        self.settings = settings
        self.algorithm = settings.algorithm
        self.start_difficulty = settings.start_difficulty
        self.extranonce2_size = s.extranonce2_size
        self.en2_hex_len = 2 * s.extranonce2_size
        self.ntime_future_s = s.ntime_future_s
        self.max_line_bytes = s.max_line_bytes
        self.write_buffer_bytes = s.write_buffer_bytes
        self.max_errors = s.max_errors
        self.max_workers = s.max_workers_per_connection
        self.authorize_rate = s.authorize_rate_per_s
        self.time = time
        self._admission = admission
        self.authorized = admission.authorized
        self.strike = admission.strike
        self.close_later = admission.close_later
        self.sessions: set[Connection] = set()
        self.book = JobBook(policy, s.jobs_kept, s.job_refresh_s)
        self.vardiff_policy = VardiffPolicy(s.vardiff_target_s, s.vardiff_retarget_s, s.vardiff_variance,
                                            settings.min_difficulty, settings.max_difficulty)  # fmt: skip

    def clamp(self, difficulty: float) -> float:
        return min(max(difficulty, self.settings.min_difficulty), self.settings.max_difficulty)


def sweep(admission: Admission, s: StratumSettings, now: float, ports: list[set[Connection]]) -> None:
    """Periodic: login timeouts (admission), then each connection's own limits (idle, stuck slow, dripping a
    line) and its vardiff."""
    admission.expire(now)
    idle_before = now - s.idle_timeout_s
    drain_before = now - s.drain_timeout_s
    line_before = now - s.line_timeout_s
    for sessions in ports:
        for conn in list(sessions):
            conn.check(now, idle_before, drain_before, line_before)
