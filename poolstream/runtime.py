"""The all-in-one runtime (`poolstream run`) and the single-component modes (`worker`, `api`, `scheduler`).

One process, one event loop: uvicorn serves the Litestar API, and the Faust worker, the scheduler and the
Stratum gateway start and stop inside its lifespan (chDB allows one process per data directory). SIGINT or
SIGTERM stops uvicorn, which unwinds the lifespans in reverse: gateway closed and its producer flushed,
scheduler stopped, Faust agents stopped within DRAIN_S + AGENTS_STOP_S (the write in flight finishes; a batch
not yet durable is not acked, so it is replayed — never lost, never doubled). The embedded broker is not a
child of this process: a stop, a crash or kill -9 leaves it, with everything it holds and the group's
committed offsets, for the next start (`poolstream.broker_service`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client
from faust.contrib.asgi import faust_app_running
from litestar import Litestar

from api.app import ApiDeps, create_app
from api.health import KafkaClickHouseProbe
from api.services.gateway_control import GatewayControl
from api.settings import ApiSettings, ServedPort
from bus import broker_stats
from bus.admin import ensure_topics
from bus.broker_stats import BrokerStats
from bus.publisher import Publisher
from jobs.consumer_lag import ConsumerLagJob
from jobs.credits import CreditsJob, lag_is_zero
from jobs.maturity import MaturityJob
from jobs.scheduler import IntervalJob, create_scheduler, schedule
from poolstream import broker_service
from poolstream.money_jobs import money_jobs
from poolstream.payments import settlement_job
from poolstream.serve import ConfigurationError, say, serve_api
from poolstream.settings import Settings
from poolstream.sfr_jobs import rewards_context, sfr_jobs
from poolstream.stratum_bans import stratum_bans
from poolstream.telemetry_jobs import rig_settings, telemetry_intake, telemetry_jobs
from poolstream.topic_ids import follow_topic_ids, refresh_topic_ids
from schemas.clock import SystemClock
from schemas.config import SettingsError
from sinks.blocks import BlockWriter
from sinks.client import connect, first_line, redact
from sinks.migrate import migrate
from sinks.shares import ShareWriter
from sinks.telemetry import TelemetryWriter
from sources.chain.select import chain_status
from streams.app import create_faust_app
from streams.blocks import attach_blocks
from streams.shares import ShareIngest, attach
from streams.supervision import AgentBoard
from streams.telemetry import attach_telemetry

log = logging.getLogger("poolstream")
DRAIN_S = 2.0  # at stop, the agents store what the stopped sources published, for at most this long ...
AGENTS_STOP_S = 1.5  # ... then Faust stops consuming (its in-flight write finishes; unacked is replayed)
T = TypeVar("T")
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def retry(what: str, attempt: Callable[[], T], every_s: float = 3.0) -> T:
    """Call `attempt` until it succeeds, saying in one line what is unreachable (no traceback)."""
    while True:
        try:
            return attempt()
        except Exception as exc:  # any failure to reach it: one line, then retry
            say(f"{what} unreachable: {first_line(exc)} — retrying every {every_s:.0f}s (Ctrl-C to stop)")
            time.sleep(every_s)


@dataclass
class BrokerUse:
    """The broker this run uses; `keep` set during the run leaves an embedded one running at a clean stop."""

    bootstrap: str
    keep: bool = False
    why: str = ""


@contextlib.contextmanager
def broker_for(settings: Settings, *, stop: bool = False) -> Iterator[BrokerUse]:
    """The Kafka bootstrap to use: KAFKA_BOOTSTRAP, or the embedded broker, started detached or reused
    (`poolstream.broker_service`): it outlives a crash or kill -9 of this process, so nothing that reached it
    is lost. With `stop` (the default of `poolstream run`), a clean stop stops it too, but only once the agents
    drained its input (the run keeps it when messages were still arriving); otherwise it is left running and
    the stop says so."""
    if not settings.embedded_broker:
        yield BrokerUse(settings.kafka.bootstrap)
        return
    directory = Path(settings.kafka.embedded_dir)
    record, started = broker_service.ensure_running(directory, settings.kafka.embedded_port)
    say(f"embedded Kafka-protocol broker on {record.bootstrap} ({'started' if started else 'reused'}, pid "
        f"{record.pid}; memory only; set KAFKA_BOOTSTRAP for a real cluster)")
    use = BrokerUse(record.bootstrap, keep=True, why="it keeps what is queued for the next start")
    if stop:
        use.keep, use.why = False, ""
    yield use
    # reached only on a clean stop: an exception leaves the broker (and what it holds) for the next start
    if use.keep:
        say(f"embedded broker left running on {record.bootstrap} ({use.why}; `poolstream broker --stop` or "
            "`make stop` stops it)")
    elif broker_service.stop(directory):
        say("embedded broker stopped")


def open_clickhouse(settings: Settings) -> Client:
    client = retry(f"ClickHouse ({redact(settings.clickhouse.dsn)})", lambda: connect(settings.clickhouse))
    applied = migrate(client, shares_ttl_days=settings.clickhouse.shares_ttl_days)
    if applied:
        say(f"applied migrations: {', '.join(f'{m.version:04d}_{m.name}' for m in applied)}")
    return client


def require_server_clickhouse(settings: Settings, component: str) -> None:
    if settings.clickhouse.embedded:
        raise ConfigurationError(
            f"`poolstream {component}` runs one component in its own process, but chDB (CLICKHOUSE_DSN="
            f"{settings.clickhouse.dsn}) allows only one process: use `poolstream run`, or point "
            "CLICKHOUSE_DSN at a ClickHouse server (http://host:8123)"
        )


@dataclass
class Shutdown:
    """What the stop found: whether the input topics went quiet before the consumer left."""

    quiet: bool = True


def embedded_broker_stats(settings: Settings) -> Callable[[], BrokerStats | None] | None:
    """The embedded broker's stats reader for health, its gauges exported on /metrics (None: external Kafka)."""
    if not settings.embedded_broker:
        return None
    directory = Path(settings.kafka.embedded_dir)
    broker_stats.export(directory)
    return lambda: broker_stats.read(directory)


def faust_lifespan(settings: Settings, bootstrap: str, client: Client, board: AgentBoard,
                   shutdown: Shutdown | None = None) -> Lifespan:
    stream_settings = settings.stream(bootstrap)
    app = create_faust_app(stream_settings)
    ingest = ShareIngest(stream_settings, settings.topics, ShareWriter(client),
                         Publisher(settings.publisher(bootstrap)), SystemClock(),
                         status=board.add("shares", settings.topics.shares))
    attach(app, ingest)
    blocks = attach_blocks(app, stream_settings, settings.topics, BlockWriter(client), ingest.dead_letters,
                           status=board.add("blocks", settings.topics.blocks), topic_ids=ingest.topic_ids)
    inputs = (settings.topics.shares, settings.topics.blocks, settings.topics.telemetry)
    follow_topic_ids(app, bootstrap, ingest.topic_ids, inputs, ingest.watermarks.reset)
    telemetry = attach_telemetry(app, stream_settings, settings.topics, TelemetryWriter(client), ingest.dead_letters,
                                 SystemClock(), status=board.add("telemetry", settings.topics.telemetry),
                                 topic_ids=ingest.topic_ids, checks=settings.telemetry)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await refresh_topic_ids(bootstrap, ingest.topic_ids, inputs)
        await asyncio.to_thread(ingest.restore)
        stopping = 0.0
        try:
            async with faust_app_running(app, stop_timeout=AGENTS_STOP_S):
                say(f"share agent consuming {settings.topics.shares} as group {stream_settings.app_id}")
                yield
                # The stop is bounded (DRAIN_S + AGENTS_STOP_S): nothing is lost, what is not acked is replayed.
                stopping = time.monotonic()
                quiet = await ingest.drained(timeout_s=DRAIN_S)
                if shutdown is not None:
                    shutdown.quiet = quiet
        except TimeoutError:
            say(f"agents not stopped within {AGENTS_STOP_S:.1f}s; unacknowledged messages are replayed at the next start")
        await asyncio.gather(ingest.runtime.stored(), blocks.stored(), telemetry.stored())  # writes in flight finish
        ingest.writer.close()
        await asyncio.to_thread(ingest.dead_letters.close)
        say(f"share agent stopped ({time.monotonic() - stopping:.1f}s)")

    return lifespan


def scheduler_lifespan(jobs: Sequence[IntervalJob]) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        scheduler = create_scheduler()
        for job in jobs:
            schedule(scheduler, job)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)

    return lifespan


def stratum_lifespan(settings: Settings, bootstrap: str, running: list[Any] | None = None,
                     control: GatewayControl | None = None) -> Lifespan:
    """The gateway, started through `control` (POST /api/v1/control/stop|start|restart stop and start it again
    on the same publisher; the live vardiff target follows it)."""
    from sources.stratum.gateway import StratumGateway, serve

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        publisher = Publisher(settings.publisher(bootstrap))
        stratum = settings.stratum
        slot = control or GatewayControl(stratum.vardiff_target_s)

        async def start() -> StratumGateway:
            gateway = await serve(stratum, publisher, settings.topics, SystemClock())
            if running is not None:
                running.append(gateway)  # its ban list, for the API's threat report
            return gateway

        def stopped(gateway: object) -> None:
            if running is not None and gateway in running:
                running.remove(gateway)

        slot.bind(start, stopped)
        await slot.launch()
        ports = ", ".join(f"{p.algorithm.wire} :{p.port}" for p in stratum.ports)
        say(f"stratum gateway on {stratum.host} ({ports})")
        try:
            yield
        finally:
            await slot.shutdown()
            await asyncio.to_thread(publisher.close)
            say("stratum gateway stopped, shares flushed")

    return lifespan


def api_settings(settings: Settings) -> ApiSettings:
    """The API's settings with the Stratum ports it lists in /algorithms."""
    ports = tuple(ServedPort(p.algorithm.wire, p.port, p.start_difficulty, p.min_difficulty, p.max_difficulty)
                  for p in settings.stratum.ports)
    return dataclasses.replace(settings.api, stratum_ports=ports)


def closing_lifespan(client: Client) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            client.close()

    return lifespan


def build_app(settings: Settings, bootstrap: str, client: Client, *, agents: bool, scheduler: bool,
              stratum: bool, shutdown: Shutdown | None = None) -> Litestar:
    board = AgentBoard()  # the agents' statuses, read by the health probe
    # The API reads on its own handle: a client serialises its calls (chDB: one lock per handle), so on the
    # writers' client every API read would wait for the INSERT in flight.
    reader = connect(settings.clickhouse)
    rewards = rewards_context(settings, reader)  # SFR rewards (issue 11): one context for its API and its jobs
    probe = KafkaClickHouseProbe(bootstrap=bootstrap, group_id=settings.streams.app_id,
                                 topics=[settings.topics.shares, settings.topics.blocks, settings.topics.telemetry],
                                 clickhouse=reader,
                                 agents=board, broker_stats=embedded_broker_stats(settings))
    lifespans: list[Lifespan] = [closing_lifespan(reader)]
    if agents:
        lifespans.append(faust_lifespan(settings, bootstrap, client, board, shutdown))
    if scheduler:
        lag = ConsumerLagJob(bootstrap, settings.streams.app_id,
                             [settings.topics.shares, settings.topics.blocks, settings.topics.telemetry])
        credits = CreditsJob(client, settings.topics.shares, window_factor=settings.coins.window_factor,
                             coins=settings.coins.coin, interval_s=settings.chain.credits_interval_s,
                             shares_caught_up=lag_is_zero(bootstrap, settings.streams.app_id, settings.topics.shares))
        jobs: list[IntervalJob] = [lag, credits, *money_jobs(settings, client, credits.shares_caught_up)]
        jobs += [settlement_job(settings, client), *telemetry_jobs(settings, bootstrap, client)]
        jobs += sfr_jobs(settings, rewards, client)
        if settings.embedded_broker:
            jobs.append(broker_service.BrokerWatch(
                Path(settings.kafka.embedded_dir), settings.kafka.embedded_port,
                lambda where: ensure_topics(where, settings.topics.all(), partitions=settings.kafka.partitions)))
        chain = chain_status(settings.chain, SystemClock(), node_url=settings.stratum.node_url,
                             node_user=settings.stratum.node_user, node_password=settings.stratum.node_password)
        if chain is not None:
            jobs.append(MaturityJob(client, chain, SystemClock(), interval_s=settings.chain.maturity_interval_s))
        lifespans.append(scheduler_lifespan(jobs))
    gateways: list[Any] = []
    control = GatewayControl(settings.stratum.vardiff_target_s) if stratum else None
    if stratum:
        lifespans.append(stratum_lifespan(settings, bootstrap, gateways, control))
    return create_app(ApiDeps(clickhouse=reader, clock=SystemClock(), settings=api_settings(settings), health=probe,
                              lifespan=lifespans, stratum_bans=stratum_bans(gateways) if stratum else None,
                              gateway=control, clickhouse_settings=settings.clickhouse,
                              pay=settlement_job(settings, client).pay, telemetry=settings.telemetry,
                              rigs=rig_settings(settings),
                              telemetry_intake=telemetry_intake(settings, bootstrap), rewards_context=rewards))


def prepare(settings: Settings, bootstrap: str) -> Client:
    client = open_clickhouse(settings)
    retry(f"Kafka ({bootstrap})", lambda: ensure_topics(bootstrap, settings.topics.all(),
                                                        partitions=settings.kafka.partitions))
    return client


def ports_free(settings: Settings, *, stratum: bool) -> None:
    """Refuse to start, in one line naming the variable, when a port poolstream would listen on is taken
    (found before anything starts, instead of as a failed start deep inside the server)."""
    wanted = [(settings.api.host, settings.api.port, "API_PORT")]
    if stratum:
        wanted += [(settings.stratum.host, p.port, f"STRATUM_{p.algorithm.wire.upper()}_PORT")
                   for p in settings.stratum.ports if p.port]
    for host, port, variable in wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise SettingsError(f"port {port} on {host} is not available ({exc.strerror}): "
                                    f"choose another with {variable}") from None


def run(settings: Settings, *, stratum: bool | None = None, stop_broker: bool = True) -> None:
    """Everything in one process (the `make run` default)."""
    with_stratum = settings.run.stratum_enabled if stratum is None else stratum
    ports_free(settings, stratum=with_stratum)
    with broker_for(settings, stop=stop_broker) as broker:
        client = prepare(settings, broker.bootstrap)
        shutdown = Shutdown()
        app = build_app(settings, broker.bootstrap, client, agents=True, scheduler=True, stratum=with_stratum,
                        shutdown=shutdown)
        try:
            serve_api(settings, app)
        finally:
            client.close()
        if not shutdown.quiet and not broker.keep:
            broker.keep, broker.why = True, "messages were still arriving: stopping it would drop them"


def run_component(settings: Settings, component: str) -> None:
    """`poolstream worker|api|scheduler`: one component, for deployments on a ClickHouse server."""
    require_server_clickhouse(settings, component)
    if settings.embedded_broker:
        raise ConfigurationError(f"`poolstream {component}` needs KAFKA_BOOTSTRAP (a broker shared by the processes)")
    bootstrap = settings.kafka.bootstrap
    client = prepare(settings, bootstrap)
    app = build_app(settings, bootstrap, client, agents=component == "worker", scheduler=component == "scheduler",
                    stratum=False)
    # worker and scheduler also serve the API port (health and /metrics), so every process can be scraped.
    serve_api(settings, app)
