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
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.settings import ApiSettings
from bus.publisher import PublisherSettings
from bus.settings import KafkaSettings
from poolstream.settings_parse import (
    Variable,
    algorithm,
    at_least,
    boolean,
    floating,
    identifier,
    log_level,
    not_empty,
    positive,
    tcp_port,
    text,
    variable,
)
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



@dataclass(frozen=True)
class RunSettings:
    """What `poolstream run` starts, and how loudly it logs."""

    stratum_enabled: bool = True
    log_level: str = "INFO"


def _coin_vars(code: str) -> tuple[Variable, ...]:
    """The per-coin variables `COIN_<CODE>_*` of one coin of the coin table (`schemas.coins.CoinSettings`)."""
    low = code.lower()
    return (
        variable(f"COIN_{code}_FEE_BPS", parse_fee_bps, f"coins.{low}_fee_bps", help="pool fee, basis points (100 = 1 %)"),
        variable(f"COIN_{code}_SCHEME", parse_scheme, f"coins.{low}_scheme", help="pplns, pps, fpps, prop or solo"),
        variable(f"COIN_{code}_PAYOUT_MINIMUM", units_parser(code), f"coins.{low}_payout_minimum", help=f"decimal {code}"),
        variable(f"COIN_{code}_MATURITY", at_least(1), f"coins.{low}_maturity", help="confirmations"),
        variable(f"COIN_{code}_FEE_RECIPIENTS", fee_recipients_parser(code), f"coins.{low}_fee_recipients",
             help="addr:weight,... sharing the pool fee (empty: the pool keeps it)"),
    )


#: Every variable poolstream reads. Per-port Stratum variables target the pseudo-group `port.<algorithm>`.
VARIABLES: tuple[Variable, ...] = (
    variable("KAFKA_BOOTSTRAP", text, "kafka.bootstrap", help="host:port,...; empty starts the embedded broker"),
    variable("KAFKA_TOPIC_PREFIX", text, "kafka.topic_prefix"),
    variable("KAFKA_PARTITIONS", at_least(1), "kafka.partitions", "stream.partitions", "stratum.share_partitions"),
    variable("EMBEDDED_BROKER_PORT", tcp_port, "kafka.embedded_port"),
    variable("EMBEDDED_BROKER_DIR", not_empty, "kafka.embedded_dir"),
    variable("EMBEDDED_BROKER_RECYCLE_MB", at_least(16), "kafka.embedded_recycle_mb",
         help="recycle the embedded broker above this memory once every group consumed all it holds"),
    variable("EMBEDDED_BROKER_MEMORY_LIMIT_MB", at_least(16), "kafka.embedded_memory_limit_mb",
         help="health warns when the embedded broker uses 80% of this"),
    variable("CLICKHOUSE_DSN", not_empty, "clickhouse.dsn"),
    variable("CLICKHOUSE_DATABASE", identifier, "clickhouse.database"),
    variable("SHARES_TTL_DAYS", at_least(1), "clickhouse.shares_ttl_days"),
    variable("BACKUP_DIR", text, "clickhouse.backup_dir", help="local backups (default: `backups` beside the chDB dir)"),
    variable("BACKUP_S3_URL", text, "clickhouse.backup_s3_url", help="S3-compatible folder URL for destination s3"),
    variable("BACKUP_S3_ACCESS_KEY", text, "clickhouse.backup_s3_access_key"),
    variable("BACKUP_S3_SECRET_KEY", text, "clickhouse.backup_s3_secret_key"),
    variable("API_HOST", not_empty, "api.host"),
    variable("API_QUERY_MAX_ROWS", at_least(1), "api.query_max_rows", help="POST /admin/query, poolstream sql"),
    variable("API_QUERY_TIMEOUT_S", positive, "api.query_timeout_s"),
    variable("API_PORT", tcp_port, "api.port"),
    variable("API_JWT_SECRET", text, "api.jwt_secret", help="HS256 secret (>= 32 chars); unset refuses JWTs"),
    variable("API_JWT_TTL_S", at_least(60), "api.jwt_ttl_s"),
    variable("API_ALLOW_BASIC_AUTH", boolean, "api.allow_basic_auth", help="development only"),
    variable("API_KEY_TTL_DAYS", at_least(1), "api.key_ttl_days"),
    variable("API_ADMIN_USER", text, "api.admin_user", help="admin created/updated at start"),
    variable("API_ADMIN_PASSWORD", text, "api.admin_password"),
    variable("API_RATE_LIMIT_ENABLED", boolean, "api.rate_limit_enabled"),
    variable("API_RATE_LIMIT_STORAGE", not_empty, "api.rate_limit_storage",
         help="memory:// (one process) or redis://host:6379 (needs the redis package)"),
    variable("API_RATE_ANONYMOUS", at_least(1), "api.rate_anonymous"),
    variable("API_RATE_AUTHENTICATED", at_least(1), "api.rate_authenticated"),
    variable("API_RATE_PREMIUM", at_least(1), "api.rate_premium"),
    variable("API_RATE_ENTERPRISE", at_least(1), "api.rate_enterprise"),
    variable("API_WS_MESSAGES_PER_MIN", at_least(1), "api.ws_messages_per_min", help="WebSocket messages per connection"),
    variable("API_WS_SEND_QUEUE", at_least(1), "api.ws_send_queue", help="queued pushes before a slow client is dropped"),
    variable("API_SNAPSHOT_INTERVAL_S", positive, "api.snapshot_interval_s",
         help="pool figures (/stats, /algorithms) recomputed this often; per-miner answers cached as long"),
    variable("STREAM_APP_ID", not_empty, "stream.app_id", help="also the Kafka consumer group"),
    variable("STREAM_MAX_ROWS", at_least(1), "stream.max_rows"),
    variable("STREAM_FLUSH_INTERVAL_S", positive, "stream.flush_interval_s"),
    variable("SHARE_DEDUP_WINDOW_S", at_least(1), "stream.dedup_window_s"),
    variable("SHARE_MAX_PAST_S", at_least(1), "stream.max_past_s"),
    variable("SHARE_MAX_FUTURE_S", at_least(0), "stream.max_future_s"),
    variable("STRATUM_ENABLED", boolean, "run.stratum_enabled"),
    variable("STRATUM_HOST", not_empty, "stratum.host", "api.stratum_host"),
    variable("API_STRATUM_PUBLIC_HOST", text, "api.stratum_public_host",
         help="host in registered workers' stratum_url (default STRATUM_HOST)"),
    variable("STRATUM_GATEWAY_ID", not_empty, "stratum.gateway_id", "api.node_id", help="this gateway's federation peer id (default: host name)"),
    variable("STRATUM_REGION", text, "stratum.region", help="this gateway's region, shown as the peer's location"),
    variable("STRATUM_VARDIFF_TARGET_S", positive, "stratum.vardiff_target_s"),
    variable("STRATUM_NODE_URL", text, "stratum.node_url", help="a node's JSON-RPC URL: jobs from getblocktemplate"),
    variable("STRATUM_NODE_USER", text, "stratum.node_user"),
    variable("STRATUM_NODE_PASSWORD", text, "stratum.node_password"),
    variable("STRATUM_NODE_ALGORITHM", algorithm, "stratum.node_algorithm", help="the port the node serves"),
    variable("STRATUM_SHA256D_PORT", tcp_port, "port.sha256d-port"),
    variable("STRATUM_SHA256D_DIFFICULTY", positive, "port.sha256d-start_difficulty"),
    variable("STRATUM_SHA256D_MIN_DIFFICULTY", positive, "port.sha256d-min_difficulty"),
    variable("STRATUM_SCRYPT_PORT", tcp_port, "port.scrypt-port"),
    variable("STRATUM_SCRYPT_DIFFICULTY", positive, "port.scrypt-start_difficulty"),
    variable("STRATUM_SCRYPT_MIN_DIFFICULTY", positive, "port.scrypt-min_difficulty"),
    variable("STRATUM_MAX_CONNECTIONS", at_least(1), "stratum.max_connections",
         help="when full, the oldest connection not authorized yet makes room"),
    variable("STRATUM_MAX_CONNECTIONS_PER_IP", at_least(1), "stratum.max_connections_per_ip"),
    variable("STRATUM_CONNECT_RATE_PER_IP", positive, "stratum.connect_rate_per_ip",
         help="new connections per second per IP after a burst of STRATUM_MAX_CONNECTIONS_PER_IP"),
    variable("STRATUM_LOGIN_TIMEOUT_S", positive, "stratum.login_timeout_s"),
    variable("STRATUM_LINE_TIMEOUT_S", positive, "stratum.line_timeout_s"),
    variable("STRATUM_IDLE_TIMEOUT_S", positive, "stratum.idle_timeout_s"),
    variable("STRATUM_MAX_LINE_BYTES", at_least(256), "stratum.max_line_bytes"),
    variable("STRATUM_MAX_ERRORS", at_least(1), "stratum.max_errors",
         help="protocol errors per connection at once, refilled at this many per minute"),
    variable("STRATUM_MAX_WORKERS_PER_CONNECTION", at_least(1), "stratum.max_workers_per_connection"),
    variable("STRATUM_AUTHORIZE_RATE_PER_S", positive, "stratum.authorize_rate_per_s"),
    variable("STRATUM_BAN_STRIKES", at_least(1), "stratum.ban_strikes",
         help="abusive disconnects of an IP within about a minute before a ban"),
    variable("STRATUM_BAN_INVALID_PERCENT", positive, "stratum.ban_invalid_percent"),
    variable("STRATUM_BAN_TIME_S", floating, "stratum.ban_time_s", help="0 disables bans"),
    variable("STRATUM_DOOR", boolean, "stratum.door",
             help="connections log in in a process of their own (floods cost it, not the miners' process)"),
    variable("STRATUM_DOOR_NICE", at_least(0), "stratum.door_nice", help="that process's CPU priority below the gateway's"),
    variable("LOG_LEVEL", log_level, "run.log_level"),
    variable("PPLNS_WINDOW_FACTOR", positive, "coins.window_factor", help="PPLNS window X, in network difficulties"),
    *(var for code in ("BTC", "LTC", "DOGE") for var in _coin_vars(code)),
    variable("CHAIN_SOURCE", text, "chain.source", help="maturity job: simulated (file of `poolstream simulate`), rpc (STRATUM_NODE_URL), none"),
    variable("CHAIN_SIMULATED_FILE", not_empty, "chain.simulated_file"),
    variable("MATURITY_INTERVAL_S", positive, "chain.maturity_interval_s"),
    variable("PAYMENT_PROCESSOR", text, "payments.processor", help="dryrun (default: sends nothing) or bitcoind"),
    variable("PAYMENT_WALLET_URL", text, "payments.wallet_url", help="bitcoind wallet JSON-RPC URL"),
    variable("PAYMENT_WALLET_USER", text, "payments.wallet_user"),
    variable("PAYMENT_WALLET_PASSWORD", text, "payments.wallet_password"),
    variable("PAYMENT_MINCONF", at_least(0), "payments.minconf", help="sendmany minconf"),
    variable("PAYMENT_COINS", text, "payments.coins", help="coins the settlement pays, comma-separated (empty: all)"),
    variable("PAYMENT_BATCH_MAX", at_least(1), "payments.batch_max", help="recipients per payout transaction"),
    variable("SETTLEMENT_INTERVAL_S", positive, "payments.settlement_interval_s"),
    variable("CREDITS_INTERVAL_S", positive, "chain.credits_interval_s", help="credits and pps jobs"),
    variable("FPPS_EXPECTED_FEES_BPS", at_least(0), "coins.fpps_fee_bps", help="FPPS: expected fees, bps of the subsidy"),
    # hardware telemetry, profitability and alerts (schemas.telemetry_settings)
    variable("TELEMETRY_STUCK_AFTER_S", positive, "telemetry.stuck_after_s", help="a sensor constant this long is flagged"),
    variable("TELEMETRY_SPIKE_Z", positive, "telemetry.spike_z", help="robust z-score flagging a spike"),
    variable("TELEMETRY_ROLLUP_INTERVAL_S", positive, "telemetry.rollup_interval_s"),
    variable("TELEMETRY_ROLLUP_LOOKBACK_MIN", at_least(1), "telemetry.rollup_lookback_min"),
    variable("CGMINER_HOSTS", text, "telemetry.cgminer_hosts", help="host[:port]=miner.worker,... polled over the cgminer API"),
    variable("CGMINER_INTERVAL_S", positive, "telemetry.cgminer_interval_s"),
    variable("CGMINER_TIMEOUT_S", positive, "telemetry.cgminer_timeout_s"),
    variable("ELECTRICITY_PRICE_KWH", floating, "telemetry.electricity_price_kwh", help="default price per kWh"),
    variable("ELECTRICITY_COST_KWH", floating, "telemetry.electricity_price_kwh", help="seed 002's name of ELECTRICITY_PRICE_KWH"),
    variable("ELECTRICITY_CURRENCY", not_empty, "telemetry.electricity_currency"),
    variable("SITE_ELECTRICITY_PRICES", text, "telemetry.site_electricity_prices", help="site=price per kWh, comma-separated"),
    variable("ALERTS_INTERVAL_S", positive, "telemetry.alerts_interval_s"),
    variable("ALERT_OFFLINE_INTERVALS", positive, "telemetry.offline_intervals", help="expected share intervals without a share"),
    variable("ALERT_HASHRATE_DROP_PCT", positive, "telemetry.hashrate_drop_pct"),
    variable("ALERT_WEBHOOK_URLS", text, "telemetry.webhook_urls", help="comma-separated; signed with ALERT_WEBHOOK_SECRET"),
    variable("ALERT_WEBHOOK_SECRET", text, "telemetry.webhook_secret"),
    variable("PUSH_GATEWAY_URL", text, "telemetry.push_gateway_url", help="mobile pushes are POSTed here"),
    variable("SFR_TEST_ENDPOINTS", boolean, "sfr.test_endpoints", help="seed 003's /rewards/test/... endpoints (dev only)"),
    variable("SFR_RATE_USER_PER_MIN", at_least(1), "sfr.rate_user_per_min"),
    variable("SFR_RATE_ADMIN_PER_MIN", at_least(1), "sfr.rate_admin_per_min"),
    variable("SFR_JOB_INTERVAL_S", positive, "sfr.job_interval_s", help="the SFR jobs look for a period to run this often"),
    variable("SFR_MARKET_PRICE_URL", text, "sfr.market_price_url", help="JSON SFR/JPY price for the daily batch"),
    variable("SFR_MARKET_PRICE_TIMEOUT_S", positive, "sfr.market_price_timeout_s"),
    variable("SFR_TARGET_ADJUST_BPS", at_least(0), "sfr.target_adjust_bps", help="daily target-price move, bps"),
    variable("SFR_MINING_PERIOD", parse_mining_period, "sfr.mining_period", help="hourly or daily"),
    variable("SFR_MINING_GRACE_S", floating, "sfr.mining_grace_s", help="a mining period is closed this long after its end"),
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
