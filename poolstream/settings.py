"""Root settings: the ONLY place poolstream reads the environment, composed ONCE into ready groups.

Each component owns a frozen settings group with its defaults (`bus.settings.KafkaSettings`,
`sinks.client.ClickHouseSettings`, `api.settings.ApiSettings`, `streams.settings.StreamSettings`,
`sources.stratum.settings.StratumSettings`); `VARIABLES` below maps each environment variable onto a field
of a group, so a default is written in one place only (the group). `load()` reads the variables (and CLI
overrides), converts and range-checks them, builds every group, and turns any bad value, including a
cross-field one raised by a group (the same port twice, a minimum difficulty above the start difficulty),
into one `SettingsError` line naming the variable. Every variable is documented in the README.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api.settings import ApiSettings
from bus.publisher import PublisherSettings
from bus.settings import KafkaSettings
from schemas.algorithms import Algorithm
from schemas.coins import CoinSettings, fee_recipients_parser, parse_fee_bps, parse_scheme, units_parser
from schemas.config import VERSION, SettingsError
from schemas.sfr_settings import SfrSettings, parse_mining_period
from schemas.telemetry_settings import TelemetrySettings
from schemas.topics import TopicNames
from sinks.client import ClickHouseSettings
from sources.chain.status import ChainSettings
from sources.stratum.settings import PortSettings, StratumSettings, default_ports
from sources.wallet.settings import PaymentSettings
from streams.settings import StreamSettings

__all__ = ["VERSION", "VARIABLES", "RunSettings", "Settings", "SettingsError", "Variable", "load"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class RunSettings:
    """What `poolstream run` starts, and how loudly it logs."""

    stratum_enabled: bool = True
    log_level: str = "INFO"


# ---- conversions and checks: each returns the value or raises ValueError with a short reason ----------


def _text(raw: object) -> str:
    return str(raw).strip()


def _int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be an integer")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError("must be an integer") from None


def _float(raw: object) -> float:
    try:
        value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false (1/0, yes/no, on/off)")


def _port(raw: object) -> int:
    value = _int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number in 0..65535")
    return value


def _at_least(low: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        value = _int(raw)
        if value < low:
            raise ValueError(f"must be an integer >= {low}")
        return value

    return parse


def _positive(raw: object) -> float:
    value = _float(raw)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def _identifier(raw: object) -> str:
    value = _text(raw)
    if not value.isascii() or not (value[0].isalpha() or value[0] == "_") or not value.replace("_", "a").isalnum():
        raise ValueError("must be letters, digits and _ (not starting with a digit)")
    return value


def _log_level(raw: object) -> str:
    value = _text(raw).upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value


def _algorithm(raw: object) -> Algorithm:
    return raw if isinstance(raw, Algorithm) else Algorithm.parse(str(raw))


def _not_empty(raw: object) -> str:
    value = _text(raw)
    if not value:
        raise ValueError("must not be empty")
    return value


@dataclass(frozen=True)
class Variable:
    """One environment variable: how to read it and which group field(s) it sets."""

    name: str
    parse: Callable[[object], object]
    targets: tuple[tuple[str, str], ...]  # (group, field)
    help: str = ""


def _var(name: str, parse: Callable[[object], object], *targets: str, help: str = "") -> Variable:
    return Variable(name, parse, tuple((t.split(".")[0], t.split(".")[1]) for t in targets), help)


def _coin_vars(code: str) -> tuple[Variable, ...]:
    """The per-coin variables `COIN_<CODE>_*` of one coin of the coin table (`schemas.coins.CoinSettings`)."""
    low = code.lower()
    return (
        _var(f"COIN_{code}_FEE_BPS", parse_fee_bps, f"coins.{low}_fee_bps", help="pool fee, basis points (100 = 1 %)"),
        _var(f"COIN_{code}_SCHEME", parse_scheme, f"coins.{low}_scheme", help="pplns, pps, fpps, prop or solo"),
        _var(f"COIN_{code}_PAYOUT_MINIMUM", units_parser(code), f"coins.{low}_payout_minimum", help=f"decimal {code}"),
        _var(f"COIN_{code}_MATURITY", _at_least(1), f"coins.{low}_maturity", help="confirmations"),
        _var(f"COIN_{code}_FEE_RECIPIENTS", fee_recipients_parser(code), f"coins.{low}_fee_recipients",
             help="addr:weight,... sharing the pool fee (empty: the pool keeps it)"),
    )


#: Every variable poolstream reads. Per-port Stratum variables target the pseudo-group `port.<algorithm>`.
VARIABLES: tuple[Variable, ...] = (
    _var("KAFKA_BOOTSTRAP", _text, "kafka.bootstrap", help="host:port,...; empty starts the embedded broker"),
    _var("KAFKA_TOPIC_PREFIX", _text, "kafka.topic_prefix"),
    _var("KAFKA_PARTITIONS", _at_least(1), "kafka.partitions", "stream.partitions", "stratum.share_partitions"),
    _var("EMBEDDED_BROKER_PORT", _port, "kafka.embedded_port"),
    _var("EMBEDDED_BROKER_DIR", _not_empty, "kafka.embedded_dir"),
    _var("EMBEDDED_BROKER_RECYCLE_MB", _at_least(16), "kafka.embedded_recycle_mb",
         help="recycle the embedded broker above this memory once every group consumed all it holds"),
    _var("EMBEDDED_BROKER_MEMORY_LIMIT_MB", _at_least(16), "kafka.embedded_memory_limit_mb",
         help="health warns when the embedded broker uses 80% of this"),
    _var("CLICKHOUSE_DSN", _not_empty, "clickhouse.dsn"),
    _var("CLICKHOUSE_DATABASE", _identifier, "clickhouse.database"),
    _var("SHARES_TTL_DAYS", _at_least(1), "clickhouse.shares_ttl_days"),
    _var("BACKUP_DIR", _text, "clickhouse.backup_dir", help="local backups (default: `backups` beside the chDB dir)"),
    _var("BACKUP_S3_URL", _text, "clickhouse.backup_s3_url", help="S3-compatible folder URL for destination s3"),
    _var("BACKUP_S3_ACCESS_KEY", _text, "clickhouse.backup_s3_access_key"),
    _var("BACKUP_S3_SECRET_KEY", _text, "clickhouse.backup_s3_secret_key"),
    _var("API_HOST", _not_empty, "api.host"),
    _var("API_QUERY_MAX_ROWS", _at_least(1), "api.query_max_rows", help="POST /admin/query, poolstream sql"),
    _var("API_QUERY_TIMEOUT_S", _positive, "api.query_timeout_s"),
    _var("API_PORT", _port, "api.port"),
    _var("API_JWT_SECRET", _text, "api.jwt_secret", help="HS256 secret (>= 32 chars); unset refuses JWTs"),
    _var("API_JWT_TTL_S", _at_least(60), "api.jwt_ttl_s"),
    _var("API_ALLOW_BASIC_AUTH", _bool, "api.allow_basic_auth", help="development only"),
    _var("API_KEY_TTL_DAYS", _at_least(1), "api.key_ttl_days"),
    _var("API_ADMIN_USER", _text, "api.admin_user", help="admin created/updated at start"),
    _var("API_ADMIN_PASSWORD", _text, "api.admin_password"),
    _var("API_RATE_LIMIT_ENABLED", _bool, "api.rate_limit_enabled"),
    _var("API_RATE_LIMIT_STORAGE", _not_empty, "api.rate_limit_storage",
         help="memory:// (one process) or redis://host:6379 (needs the redis package)"),
    _var("API_RATE_ANONYMOUS", _at_least(1), "api.rate_anonymous"),
    _var("API_RATE_AUTHENTICATED", _at_least(1), "api.rate_authenticated"),
    _var("API_RATE_PREMIUM", _at_least(1), "api.rate_premium"),
    _var("API_RATE_ENTERPRISE", _at_least(1), "api.rate_enterprise"),
    _var("API_WS_MESSAGES_PER_MIN", _at_least(1), "api.ws_messages_per_min", help="WebSocket messages per connection"),
    _var("API_WS_SEND_QUEUE", _at_least(1), "api.ws_send_queue", help="queued pushes before a slow client is dropped"),
    _var("API_SNAPSHOT_INTERVAL_S", _positive, "api.snapshot_interval_s",
         help="pool figures (/stats, /algorithms) recomputed this often; per-miner answers cached as long"),
    _var("STREAM_APP_ID", _not_empty, "stream.app_id", help="also the Kafka consumer group"),
    _var("STREAM_MAX_ROWS", _at_least(1), "stream.max_rows"),
    _var("STREAM_FLUSH_INTERVAL_S", _positive, "stream.flush_interval_s"),
    _var("SHARE_DEDUP_WINDOW_S", _at_least(1), "stream.dedup_window_s"),
    _var("SHARE_MAX_PAST_S", _at_least(1), "stream.max_past_s"),
    _var("SHARE_MAX_FUTURE_S", _at_least(0), "stream.max_future_s"),
    _var("STRATUM_ENABLED", _bool, "run.stratum_enabled"),
    _var("STRATUM_HOST", _not_empty, "stratum.host", "api.stratum_host"),
    _var("API_STRATUM_PUBLIC_HOST", _text, "api.stratum_public_host",
         help="host in registered workers' stratum_url (default STRATUM_HOST)"),
    _var("STRATUM_GATEWAY_ID", _not_empty, "stratum.gateway_id", "api.node_id", help="this gateway's federation peer id (default: host name)"),
    _var("STRATUM_REGION", _text, "stratum.region", help="this gateway's region, shown as the peer's location"),
    _var("STRATUM_VARDIFF_TARGET_S", _positive, "stratum.vardiff_target_s"),
    _var("STRATUM_NODE_URL", _text, "stratum.node_url", help="a node's JSON-RPC URL: jobs from getblocktemplate"),
    _var("STRATUM_NODE_USER", _text, "stratum.node_user"),
    _var("STRATUM_NODE_PASSWORD", _text, "stratum.node_password"),
    _var("STRATUM_NODE_ALGORITHM", _algorithm, "stratum.node_algorithm", help="the port the node serves"),
    _var("STRATUM_SHA256D_PORT", _port, "port.sha256d-port"),
    _var("STRATUM_SHA256D_DIFFICULTY", _positive, "port.sha256d-start_difficulty"),
    _var("STRATUM_SHA256D_MIN_DIFFICULTY", _positive, "port.sha256d-min_difficulty"),
    _var("STRATUM_SCRYPT_PORT", _port, "port.scrypt-port"),
    _var("STRATUM_SCRYPT_DIFFICULTY", _positive, "port.scrypt-start_difficulty"),
    _var("STRATUM_SCRYPT_MIN_DIFFICULTY", _positive, "port.scrypt-min_difficulty"),
    _var("STRATUM_MAX_CONNECTIONS", _at_least(1), "stratum.max_connections",
         help="when full, the oldest connection not authorized yet makes room"),
    _var("STRATUM_MAX_CONNECTIONS_PER_IP", _at_least(1), "stratum.max_connections_per_ip"),
    _var("STRATUM_CONNECT_RATE_PER_IP", _positive, "stratum.connect_rate_per_ip",
         help="new connections per second per IP after a burst of STRATUM_MAX_CONNECTIONS_PER_IP"),
    _var("STRATUM_LOGIN_TIMEOUT_S", _positive, "stratum.login_timeout_s"),
    _var("STRATUM_LINE_TIMEOUT_S", _positive, "stratum.line_timeout_s"),
    _var("STRATUM_IDLE_TIMEOUT_S", _positive, "stratum.idle_timeout_s"),
    _var("STRATUM_MAX_LINE_BYTES", _at_least(256), "stratum.max_line_bytes"),
    _var("STRATUM_MAX_ERRORS", _at_least(1), "stratum.max_errors",
         help="protocol errors per connection at once, refilled at this many per minute"),
    _var("STRATUM_MAX_WORKERS_PER_CONNECTION", _at_least(1), "stratum.max_workers_per_connection"),
    _var("STRATUM_AUTHORIZE_RATE_PER_S", _positive, "stratum.authorize_rate_per_s"),
    _var("STRATUM_BAN_STRIKES", _at_least(1), "stratum.ban_strikes",
         help="abusive disconnects of an IP within about a minute before a ban"),
    _var("STRATUM_BAN_INVALID_PERCENT", _positive, "stratum.ban_invalid_percent"),
    _var("STRATUM_BAN_TIME_S", _float, "stratum.ban_time_s", help="0 disables bans"),
    _var("LOG_LEVEL", _log_level, "run.log_level"),
    _var("PPLNS_WINDOW_FACTOR", _positive, "coins.window_factor", help="PPLNS window X, in network difficulties"),
    *(var for code in ("BTC", "LTC", "DOGE") for var in _coin_vars(code)),
    _var("CHAIN_SOURCE", _text, "chain.source", help="maturity job: simulated (file of `poolstream simulate`), rpc (STRATUM_NODE_URL), none"),
    _var("CHAIN_SIMULATED_FILE", _not_empty, "chain.simulated_file"),
    _var("MATURITY_INTERVAL_S", _positive, "chain.maturity_interval_s"),
    _var("PAYMENT_PROCESSOR", _text, "payments.processor", help="dryrun (default: sends nothing) or bitcoind"),
    _var("PAYMENT_WALLET_URL", _text, "payments.wallet_url", help="bitcoind wallet JSON-RPC URL"),
    _var("PAYMENT_WALLET_USER", _text, "payments.wallet_user"),
    _var("PAYMENT_WALLET_PASSWORD", _text, "payments.wallet_password"),
    _var("PAYMENT_MINCONF", _at_least(0), "payments.minconf", help="sendmany minconf"),
    _var("PAYMENT_COINS", _text, "payments.coins", help="coins the settlement pays, comma-separated (empty: all)"),
    _var("PAYMENT_BATCH_MAX", _at_least(1), "payments.batch_max", help="recipients per payout transaction"),
    _var("SETTLEMENT_INTERVAL_S", _positive, "payments.settlement_interval_s"),
    _var("CREDITS_INTERVAL_S", _positive, "chain.credits_interval_s", help="credits and pps jobs"),
    _var("FPPS_EXPECTED_FEES_BPS", _at_least(0), "coins.fpps_fee_bps", help="FPPS: expected fees, bps of the subsidy"),
    # hardware telemetry, profitability and alerts (schemas.telemetry_settings)
    _var("TELEMETRY_STUCK_AFTER_S", _positive, "telemetry.stuck_after_s", help="a sensor constant this long is flagged"),
    _var("TELEMETRY_SPIKE_Z", _positive, "telemetry.spike_z", help="robust z-score flagging a spike"),
    _var("TELEMETRY_ROLLUP_INTERVAL_S", _positive, "telemetry.rollup_interval_s"),
    _var("TELEMETRY_ROLLUP_LOOKBACK_MIN", _at_least(1), "telemetry.rollup_lookback_min"),
    _var("CGMINER_HOSTS", _text, "telemetry.cgminer_hosts", help="host[:port]=miner.worker,... polled over the cgminer API"),
    _var("CGMINER_INTERVAL_S", _positive, "telemetry.cgminer_interval_s"),
    _var("CGMINER_TIMEOUT_S", _positive, "telemetry.cgminer_timeout_s"),
    _var("ELECTRICITY_PRICE_KWH", _float, "telemetry.electricity_price_kwh", help="default price per kWh"),
    _var("ELECTRICITY_COST_KWH", _float, "telemetry.electricity_price_kwh", help="seed 002's name of ELECTRICITY_PRICE_KWH"),
    _var("ELECTRICITY_CURRENCY", _not_empty, "telemetry.electricity_currency"),
    _var("SITE_ELECTRICITY_PRICES", _text, "telemetry.site_electricity_prices", help="site=price per kWh, comma-separated"),
    _var("ALERTS_INTERVAL_S", _positive, "telemetry.alerts_interval_s"),
    _var("ALERT_OFFLINE_INTERVALS", _positive, "telemetry.offline_intervals", help="expected share intervals without a share"),
    _var("ALERT_HASHRATE_DROP_PCT", _positive, "telemetry.hashrate_drop_pct"),
    _var("ALERT_WEBHOOK_URLS", _text, "telemetry.webhook_urls", help="comma-separated; signed with ALERT_WEBHOOK_SECRET"),
    _var("ALERT_WEBHOOK_SECRET", _text, "telemetry.webhook_secret"),
    _var("PUSH_GATEWAY_URL", _text, "telemetry.push_gateway_url", help="mobile pushes are POSTed here"),
    _var("SFR_TEST_ENDPOINTS", _bool, "sfr.test_endpoints", help="seed 003's /rewards/test/... endpoints (dev only)"),
    _var("SFR_RATE_USER_PER_MIN", _at_least(1), "sfr.rate_user_per_min"),
    _var("SFR_RATE_ADMIN_PER_MIN", _at_least(1), "sfr.rate_admin_per_min"),
    _var("SFR_JOB_INTERVAL_S", _positive, "sfr.job_interval_s", help="the SFR jobs look for a period to run this often"),
    _var("SFR_MARKET_PRICE_URL", _text, "sfr.market_price_url", help="JSON SFR/JPY price for the daily batch"),
    _var("SFR_MARKET_PRICE_TIMEOUT_S", _positive, "sfr.market_price_timeout_s"),
    _var("SFR_TARGET_ADJUST_BPS", _at_least(0), "sfr.target_adjust_bps", help="daily target-price move, bps"),
    _var("SFR_MINING_PERIOD", parse_mining_period, "sfr.mining_period", help="hourly or daily"),
    _var("SFR_MINING_GRACE_S", _float, "sfr.mining_grace_s", help="a mining period is closed this long after its end"),
)

_GROUPS: dict[str, type[Any]] = {
    "kafka": KafkaSettings,
    "clickhouse": ClickHouseSettings,
    "api": ApiSettings,
    "stream": StreamSettings,
    "stratum": StratumSettings,
    "run": RunSettings,
    "coins": CoinSettings,
    "chain": ChainSettings,
    "payments": PaymentSettings,
    "telemetry": TelemetrySettings,
    "sfr": SfrSettings,
}


@dataclass(frozen=True)
class Settings:
    """The composed settings of one poolstream process: every group built once, ready to hand out."""

    kafka: KafkaSettings
    clickhouse: ClickHouseSettings
    api: ApiSettings
    streams: StreamSettings  # without a bootstrap: `stream(bootstrap)` adds the one in use
    stratum: StratumSettings
    run: RunSettings
    topics: TopicNames
    coins: CoinSettings = CoinSettings()
    chain: ChainSettings = ChainSettings()
    payments: PaymentSettings = PaymentSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    sfr: SfrSettings = SfrSettings()

    @property
    def embedded_broker(self) -> bool:
        return self.kafka.embedded

    def stream(self, bootstrap: str) -> StreamSettings:
        """The stream group for the broker actually in use (embedded brokers get their address at start)."""
        return dataclasses.replace(self.streams, bootstrap=bootstrap)

    def publisher(self, bootstrap: str) -> PublisherSettings:
        return PublisherSettings(bootstrap=bootstrap)


def _raw_values(environ: Mapping[str, str], overrides: Mapping[str, object]) -> dict[str, object]:
    """Variable name -> raw value: the environment (names case-insensitive), then CLI overrides on top."""
    upper = {k.upper(): v for k, v in environ.items()}
    raw: dict[str, object] = {}
    for var in VARIABLES:
        if var.name in upper:
            raw[var.name] = upper[var.name]
    for key, value in overrides.items():
        name = key.upper()
        if name not in {v.name for v in VARIABLES}:
            raise SettingsError(f"unknown setting {name}")
        if value is not None:
            raw[name] = value
    return raw


def _stratum_ports(given: Mapping[str, dict[str, Any]]) -> tuple[PortSettings, ...]:
    """The default ports with what was set. A start difficulty below the default floor lowers the floor
    with it (asking for d=0.0001 must not be refused because the default minimum is higher)."""
    ports = []
    for port in default_ports():
        mine = given.get(port.algorithm.wire, {})
        start = mine.get("start_difficulty", port.start_difficulty)
        low = mine.get("min_difficulty", min(port.min_difficulty, start))
        ports.append(dataclasses.replace(port, port=mine.get("port", port.port), start_difficulty=start,
                                         min_difficulty=low))
    return tuple(ports)


def _names_for(group: str, raw: Mapping[str, object]) -> str:
    """The variables of `group` that were set (all of the group's if none was: a default is at fault)."""
    mine = [v.name for v in VARIABLES if any(g == group or (g == "port" and group == "stratum")
                                             for g, _ in v.targets)]
    return ", ".join([n for n in mine if n in raw] or mine)


def load(environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
    """Read the environment (plus `overrides`, e.g. from CLI flags, keyed by variable name in any case) into
    `Settings`, or raise `SettingsError` with one line naming the bad variable."""
    raw = _raw_values(os.environ if environ is None else environ, overrides)
    fields: dict[str, dict[str, Any]] = {group: {} for group in _GROUPS}
    ports: dict[str, dict[str, Any]] = {}
    for var in VARIABLES:
        if var.name not in raw:
            continue
        try:
            value = var.parse(raw[var.name])
        except ValueError as exc:
            raise SettingsError(f"invalid setting {var.name}: {exc} (got {str(raw[var.name])[:80]!r})") from None
        for group, field in var.targets:
            if group == "port":
                algorithm, _, name = field.partition("-")
                ports.setdefault(algorithm, {})[name] = value
            else:
                fields[group][field] = value
    built: dict[str, Any] = {}
    for group, cls in _GROUPS.items():
        try:
            if group == "stratum":
                built[group] = cls(ports=_stratum_ports(ports), **fields[group])
            else:
                built[group] = cls(**fields[group])
        except SettingsError as exc:
            raise SettingsError(f"invalid settings: {exc} (check {_names_for(group, raw)})") from None
    return Settings(
        kafka=built["kafka"], clickhouse=built["clickhouse"], api=built["api"], streams=built["stream"],
        stratum=built["stratum"], run=built["run"], topics=TopicNames(prefix=built["kafka"].topic_prefix),
        coins=built["coins"], chain=built["chain"], payments=built["payments"], telemetry=built["telemetry"], sfr=built["sfr"],
    )
