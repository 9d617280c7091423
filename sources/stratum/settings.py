"""Settings of the Stratum V1 gateway: one frozen group, built by the composition root (which reads the
environment). Every bad value, cross-field ones included, fails at construction with `SettingsError`: one
line naming the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from schemas.algorithms import Algorithm
from schemas.config import SettingsError, require_positive
from schemas.identity import host_label, valid_label

#: Regtest-like "anything goes" nbits (network difficulty ~ 4.7e-10): every share is a block candidate.
NBITS_REGTEST = 0x207FFFFF


_positive = require_positive


def _http_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or url != url.strip():
        raise SettingsError(f"{name} must be an http(s) URL such as http://127.0.0.1:8332/, got {url!r}")


@dataclass(frozen=True)
class PortSettings:
    """One listening port: the algorithm it serves and its difficulty policy (fractional values allowed).

    `nbits` is the compact network target the template generator puts in its jobs (ignored by a real-node
    job source, which takes the node's). The default is Bitcoin's difficulty 1 (`0x1d00ffff`) for SHA256d
    and Litecoin's genesis target (`0x1e0ffff0`) for scrypt.
    """

    algorithm: Algorithm
    port: int
    start_difficulty: float
    min_difficulty: float
    max_difficulty: float
    nbits: int

    def __post_init__(self) -> None:
        prefix = f"stratum.ports.{self.algorithm.wire}"
        if self.algorithm not in (Algorithm.SHA256D, Algorithm.SCRYPT):
            raise SettingsError(f"{prefix}.algorithm must be sha256d or scrypt")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise SettingsError(f"{prefix}.port must be in 0..65535 (0: any free port), got {self.port!r}")
        _positive(f"{prefix}.start_difficulty", self.start_difficulty)
        _positive(f"{prefix}.min_difficulty", self.min_difficulty)
        _positive(f"{prefix}.max_difficulty", self.max_difficulty)
        if not self.min_difficulty <= self.start_difficulty <= self.max_difficulty:
            low = "min_difficulty" if self.min_difficulty > self.start_difficulty else "max_difficulty"
            raise SettingsError(
                f"{prefix}.{low}: need min_difficulty <= start_difficulty <= max_difficulty, got "
                f"min_difficulty={self.min_difficulty}, start_difficulty={self.start_difficulty}, "
                f"max_difficulty={self.max_difficulty}"
            )
        if not 0 < self.nbits <= 0xFFFFFFFF or (self.nbits >> 24) < 1 or (self.nbits & 0x00800000):
            raise SettingsError(f"{prefix}.nbits is not a valid compact target: {self.nbits:#x}")


def default_ports() -> tuple[PortSettings, ...]:
    """SHA256d on 3333 and scrypt on 3337, with difficulties a one-thread CPU miner can use."""
    return (
        PortSettings(Algorithm.SHA256D, 3333, start_difficulty=0.01, min_difficulty=0.0001,
                     max_difficulty=1e12, nbits=0x1D00FFFF),
        PortSettings(Algorithm.SCRYPT, 3337, start_difficulty=0.5, min_difficulty=0.001,
                     max_difficulty=1e9, nbits=0x1E0FFFF0),
    )


@dataclass(frozen=True)
class GetBlockTemplateSettings:
    """A real node's JSON-RPC endpoint for `GetBlockTemplateJobSource` (one per algorithm)."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 5.0
    rules: tuple[str, ...] = ("segwit",)

    def __post_init__(self) -> None:
        _http_url("stratum.gbt.url", self.url)
        _positive("stratum.gbt.timeout_s", self.timeout_s)


@dataclass(frozen=True)
class StratumSettings:
    """All knobs of the gateway. Times are seconds unless the name says otherwise.

    Jobs come from the template generator unless `node_url` is set: then the port of `node_algorithm` mines
    on that node's `getblocktemplate` (and found blocks go back with `submitblock`); any other port keeps
    the template generator.
    """

    ports: tuple[PortSettings, ...] = field(default_factory=default_ports)
    host: str = "127.0.0.1"  # loopback by default: opening to the world is an explicit choice
    extranonce2_size: int = 4
    # vardiff
    vardiff_target_s: float = 10.0  # aimed interval between one connection's shares
    vardiff_retarget_s: float = 60.0  # retarget at most this often (earlier on a burst of shares)
    vardiff_variance: float = 0.3  # no retarget while the observed interval is within ±30% of the target
    # jobs
    job_refresh_s: float = 30.0  # a new job_id at least this often (miners stall after ~120 s)
    template_poll_s: float = 2.0  # how often the job source is asked whether the chain tip moved
    jobs_kept: int = 8  # jobs a submit may still refer to (older ones are stale)
    ntime_future_s: int = 7200  # a submit's ntime may run ahead of the job's by this much
    coinbase_tag: str = "/poolstream/"
    #: Output script of the template generator's coinbase (hex). Default: P2WPKH to a zero key hash.
    coinbase_script_hex: str = "0014" + "00" * 20
    # a real node (getblocktemplate / submitblock over JSON-RPC); empty: the template generator
    node_url: str = ""
    node_user: str = ""
    node_password: str = field(default="", repr=False)
    node_algorithm: Algorithm = Algorithm.SHA256D  # the port the node serves (a Bitcoin node: sha256d)
    # safety (docs/architecture.md, "Stratum gateway": what each limit answers)
    max_line_bytes: int = 4096  # a longer line (or unterminated tail) closes the connection
    max_connections: int = 20_000  # when full, the oldest connection not yet authorized makes room
    max_connections_per_ip: int = 1024  # mining farms sit behind NAT: keep it generous
    connect_rate_per_ip: float = 100.0  # new connections/s per IP after a burst of max_connections_per_ip
    login_timeout_s: float = 10.0  # a connection not subscribed and authorized by then is closed
    line_timeout_s: float = 10.0  # a line started but not finished (no newline) for this long closes it
    idle_timeout_s: float = 600.0  # no complete line from the client for this long closes it
    max_errors: int = 20  # protocol errors a connection may make at once; refilled at this many per minute
    max_workers_per_connection: int = 256  # distinct users one connection may authorize
    authorize_rate_per_s: float = 10.0  # mining.authorize per connection per s (burst: max_workers_per_connection)
    write_buffer_bytes: int = 64 * 1024  # per-connection buffer before a client counts as slow
    drain_timeout_s: float = 10.0  # a slow client that cannot drain its buffer for this long is closed
    ban_check_after: int = 50  # shares of an IP before its invalid ratio is judged
    ban_invalid_percent: float = 50.0  # ban an IP whose invalid shares exceed this share of the total
    ban_strikes: int = 20  # abusive disconnects of an IP within about a minute before it is banned
    ban_time_s: float = 600.0  # 0 disables banning
    #: connections wait for their login in a process of their own (`door.py`), so floods of connections
    #: that never log in cost that process, not the one answering the miners; False: all in one process
    door: bool = True
    door_nice: int = 15  # the door's CPU priority below the gateway's (0: the same)
    # verification and events
    verify_batch_max: int = 4096
    #: 0: a batch of submits starts once the event loop has read every ready socket (small SHA256d batches are
    #: hashed there and then); > 0: it waits this long to fill (fewer, bigger batches, later answers)
    verify_batch_wait_ms: float = 0.0
    verify_threads: int = 2
    share_flush_ms: float = 100.0
    share_flush_max: int = 20_000
    share_partitions: int = 4  # partitions of the shares topic: batches are split per partition
    # federation: which peer this gateway is, carried on every share event (schemas.share v3)
    gateway_id: str = field(default_factory=host_label)
    region: str = ""  # e.g. "eu-west"; shown as the peer's location

    def __post_init__(self) -> None:
        if not self.ports:
            raise SettingsError("stratum.ports must list at least one port")
        algorithms: set[Algorithm] = set()
        numbers: dict[int, Algorithm] = {}
        for p in self.ports:
            if p.algorithm in algorithms:
                raise SettingsError(f"stratum.ports.{p.algorithm.wire}: the algorithm has two ports")
            algorithms.add(p.algorithm)
            other = numbers.get(p.port) if p.port else None  # 0 (any free port) may repeat
            if other is not None:
                raise SettingsError(f"stratum.ports.{p.algorithm.wire}.port: {p.port} is already the {other.wire} port")
            numbers[p.port] = p.algorithm
        if not self.host:
            raise SettingsError("stratum.host must not be empty")
        for name in ("gateway_id", "region"):
            if not valid_label(getattr(self, name)):
                raise SettingsError(f"stratum.{name} must be at most 64 of A-Z a-z 0-9 _ - .")
        if not self.gateway_id:
            raise SettingsError("stratum.gateway_id must not be empty")
        if not 2 <= self.extranonce2_size <= 8:
            raise SettingsError(f"stratum.extranonce2_size must be in 2..8, got {self.extranonce2_size}")
        for name in ("vardiff_target_s", "vardiff_retarget_s", "job_refresh_s", "template_poll_s",
                     "idle_timeout_s", "drain_timeout_s", "share_flush_ms",
                     "connect_rate_per_ip", "login_timeout_s", "line_timeout_s", "authorize_rate_per_s"):
            _positive(f"stratum.{name}", getattr(self, name))
        if not (isinstance(self.verify_batch_wait_ms, int | float) and 0 <= self.verify_batch_wait_ms < 1000):
            raise SettingsError(f"stratum.verify_batch_wait_ms must be in [0, 1000), got {self.verify_batch_wait_ms!r}")
        if not 0 < self.vardiff_variance < 1:
            raise SettingsError(f"stratum.vardiff_variance must be in (0, 1), got {self.vardiff_variance}")
        for name in ("jobs_kept", "max_line_bytes", "max_connections", "max_connections_per_ip",
                     "write_buffer_bytes", "ban_check_after", "verify_batch_max", "verify_threads",
                     "share_flush_max", "share_partitions", "ntime_future_s", "max_errors",
                     "max_workers_per_connection", "ban_strikes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SettingsError(f"stratum.{name} must be a positive integer, got {value!r}")
        if self.max_line_bytes < 256:
            raise SettingsError(f"stratum.max_line_bytes must be at least 256, got {self.max_line_bytes}")
        if not 0 < self.ban_invalid_percent <= 100:
            raise SettingsError(f"stratum.ban_invalid_percent must be in (0, 100], got {self.ban_invalid_percent}")
        if self.ban_time_s < 0:
            raise SettingsError(f"stratum.ban_time_s must be >= 0, got {self.ban_time_s}")
        if len(self.coinbase_tag.encode()) > 40:
            raise SettingsError("stratum.coinbase_tag must be at most 40 bytes")
        try:
            script = bytes.fromhex(self.coinbase_script_hex)
        except ValueError:
            raise SettingsError("stratum.coinbase_script_hex is not hex") from None
        if not 1 <= len(script) <= 10_000:
            raise SettingsError("stratum.coinbase_script_hex must hold 1..10000 bytes")
        if self.node_url:
            _http_url("stratum.node_url", self.node_url)
            if not isinstance(self.node_algorithm, Algorithm) or self.node_algorithm not in algorithms:
                name = self.node_algorithm.wire if isinstance(self.node_algorithm, Algorithm) else self.node_algorithm
                raise SettingsError(f"stratum.node_algorithm: no {name} port is configured for the node")
        elif self.node_user or self.node_password:
            raise SettingsError("stratum.node_user and stratum.node_password need stratum.node_url")

    def port_for(self, algorithm: Algorithm) -> PortSettings:
        for p in self.ports:
            if p.algorithm is algorithm:
                return p
        raise KeyError(algorithm)

    @property
    def node(self) -> GetBlockTemplateSettings | None:
        """The node's endpoint if `node_url` is set."""
        if not self.node_url:
            return None
        return GetBlockTemplateSettings(self.node_url, self.node_user, self.node_password)

