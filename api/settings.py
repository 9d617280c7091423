"""Settings of the HTTP API: where it listens, the version it reports in every response's `meta`, how callers
authenticate (API keys, JWT, Basic in development, the bootstrap admin) and the per-tier rate limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.config import VERSION, SettingsError


@dataclass(frozen=True)
class ServedPort:
    """A Stratum port the pool serves, as /algorithms shows it (the runtime copies the gateway's settings)."""

    algorithm: str  # schemas.algorithms wire name
    port: int
    difficulty: float  # starting share difficulty
    min_difficulty: float
    max_difficulty: float


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    version: str = VERSION
    # -- authentication (api/auth): secrets have no defaults
    jwt_secret: str | None = field(default=None, repr=False)  # API_JWT_SECRET: HS256; unset = JWTs refused
    jwt_ttl_s: int = 3600  # API_JWT_TTL_S: lifetime of a token from POST /auth/token
    allow_basic_auth: bool = False  # API_ALLOW_BASIC_AUTH: development only
    key_ttl_days: int = 365  # API_KEY_TTL_DAYS
    admin_user: str = ""  # API_ADMIN_USER: created/updated as an admin at start (with API_ADMIN_PASSWORD)
    admin_password: str | None = field(default=None, repr=False)  # API_ADMIN_PASSWORD
    # -- rate limits (api/ratelimit.py), requests per minute per caller
    rate_limit_enabled: bool = True  # API_RATE_LIMIT_ENABLED
    rate_limit_storage: str = "memory://"  # API_RATE_LIMIT_STORAGE: redis://host:6379 for several processes
    rate_anonymous: int = 100  # API_RATE_ANONYMOUS
    rate_authenticated: int = 1000  # API_RATE_AUTHENTICATED
    rate_premium: int = 5000  # API_RATE_PREMIUM
    rate_enterprise: int = 10000  # API_RATE_ENTERPRISE
    # -- WebSocket /api/ws (api/ws)
    ws_messages_per_min: int = 100  # API_WS_MESSAGES_PER_MIN: inbound messages per connection (seed 001)
    ws_send_queue: int = 256  # API_WS_SEND_QUEUE: pushes queued per connection; a full queue drops it
    # -- federation: this node's id in /federation/status ("" = the host name; STRATUM_GATEWAY_ID sets it)
    node_id: str = ""
    # -- fast reads (api/services/snapshot.py): pool figures recomputed this often, per-miner answers cached as long
    snapshot_interval_s: float = 2.0  # API_SNAPSHOT_INTERVAL_S
    stratum_ports: tuple[ServedPort, ...] = ()  # what /algorithms lists (the runtime fills it from StratumSettings)
    # -- registered workers' stratum_url (api/services/workers.py): stratum+tcp://<public host>:<algorithm's port>
    stratum_host: str = "127.0.0.1"  # STRATUM_HOST (the gateway's listening host)
    stratum_public_host: str = ""  # API_STRATUM_PUBLIC_HOST: the host rigs connect to; "" = stratum_host
    # -- analysts' SQL (POST /admin/query, api/services/query.py): ClickHouse readonly=1 with these limits
    query_max_rows: int = 10000  # API_QUERY_MAX_ROWS: rows answered at most (and the default max_rows)
    query_timeout_s: float = 10.0  # API_QUERY_TIMEOUT_S: ClickHouse max_execution_time

    def __post_init__(self) -> None:
        if self.jwt_secret is not None and 0 < len(self.jwt_secret) < 32:
            raise SettingsError("API_JWT_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        if self.admin_user and not self.admin_password:
            raise SettingsError("API_ADMIN_USER is set without API_ADMIN_PASSWORD")
        if self.admin_password and not self.admin_user:
            raise SettingsError("API_ADMIN_PASSWORD is set without API_ADMIN_USER")
