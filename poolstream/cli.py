"""The `poolstream` command: run the system or one component, migrate, simulate a fleet.

Errors a user can fix end in one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from poolstream.broker import BrokerError
from poolstream.cli_backup import add_backup_parsers
from poolstream.cli_export import add_export_parser
from poolstream.cli_prices import add_prices_parser
from poolstream.cli_sql import add_sql_parser
from poolstream.cli_users import add_users_parser
from poolstream.settings import Settings, load
from schemas.config import VERSION, SettingsError

QUIET_LOGGERS = ("faust", "mode", "aiokafka", "kafka", "httpx", "apscheduler", "numba")
# Their connection errors repeat on every retry; poolstream says the same in one line of its own.
SILENT_LOGGERS = ("urllib3", "clickhouse_connect", "rdkafka")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if level.upper() != "DEBUG":
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        for name in SILENT_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    from poolstream.runtime import run

    run(settings, stratum=False if args.no_stratum else None, stop_broker=not args.keep_broker)
    exit_now(0)


def exit_now(code: int) -> None:
    """Leave without interpreter teardown once every component has stopped and every ClickHouse handle is
    closed: chDB's C++ global teardown at exit can crash or print spurious errors (chdb-core), which would
    turn a clean stop into a failed exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_component(settings: Settings, args: argparse.Namespace) -> None:
    from poolstream.runtime import run_component

    run_component(settings, args.command)


def cmd_stratum(settings: Settings, args: argparse.Namespace) -> None:
    from sources.stratum.runner import main

    if settings.embedded_broker:
        raise SettingsError("`poolstream stratum` alone needs KAFKA_BOOTSTRAP (the broker `poolstream run` uses, "
                            "e.g. 127.0.0.1:19092); `poolstream run` starts the gateway itself")
    main(settings.stratum, settings.publisher(settings.kafka.bootstrap), settings.topics)


def cmd_broker(settings: Settings, args: argparse.Namespace) -> None:
    from poolstream import broker_service
    from poolstream.broker_serve import RecyclePolicy

    directory = Path(args.dir or settings.kafka.embedded_dir)
    if args.stop:
        stopped = broker_service.stop(directory)
        print("embedded broker stopped" if stopped else f"no embedded broker running for {directory}")
        return
    if args.status:
        record = broker_service.read_record(directory)
        print(f"embedded broker on {record.bootstrap} (pid {record.pid})" if record
              else f"no embedded broker running for {directory}")
        return
    if not settings.kafka.embedded:
        raise SettingsError("KAFKA_BOOTSTRAP is set: poolstream uses that broker, not an embedded one")
    record = broker_service.read_record(directory)
    if record is not None:
        raise SettingsError(f"an embedded broker already runs for {directory} on {record.bootstrap} "
                            f"(pid {record.pid}); `poolstream broker --stop` stops it")
    mb = 1024 * 1024
    policy = RecyclePolicy(recycle_bytes=settings.kafka.embedded_recycle_mb * mb,
                           limit_bytes=settings.kafka.embedded_memory_limit_mb * mb,
                           disposable=frozenset(settings.topics.disposable()))
    broker_service.serve(directory, args.port if args.port is not None else settings.kafka.embedded_port, policy)
    exit_now(0)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from poolstream.runtime import open_clickhouse

    client = open_clickhouse(settings)
    versions = client.query("SELECT version, name FROM schema_migrations FINAL ORDER BY version").result_rows
    print(f"schema at migration {versions[-1][0]:04d}_{versions[-1][1]} ({len(versions)} applied)")


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> None:
    from bus.admin import broker_reachable, ensure_topics
    from bus.publisher import Publisher
    from schemas.clock import SystemClock
    from sources.simulate.options import SimulateOptions
    from sources.simulate.report import format_report
    from sources.simulate.run import ProgressLine, simulate

    try:
        options = SimulateOptions(
            miners=args.miners, workers=args.workers, duration_s=args.duration, encoding=args.encoding,
            algorithms=tuple(args.algorithm or ("sha256d",)), seed=args.seed,
            invalid_fraction=args.invalid_fraction, duplicate_fraction=args.duplicate_fraction,
            stale_fraction=args.stale_fraction, shares_per_message=args.shares_per_message, realtime=args.realtime,
            partitions=settings.kafka.partitions, network_difficulty=args.network_difficulty,
            orphan_rate=args.orphan_rate, chain_block_time_s=args.chain_block_time,
            telemetry=not args.no_telemetry, failing_rigs=args.failing_rigs,
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    max_past_s = settings.streams.max_past_s
    if options.duration_s > max_past_s and not options.realtime:
        print(f"note: --duration {options.duration_s:g}s is longer than SHARE_MAX_PAST_S ({max_past_s}s): shares "
              f"older than {max_past_s}s when published will be rejected as time_skew (raise SHARE_MAX_PAST_S on "
              "the running system to keep them)", file=sys.stderr)
    bootstrap = settings.kafka.client_bootstrap
    if not broker_reachable(bootstrap, timeout=5.0):
        raise SettingsError(f"no Kafka broker at {bootstrap}: start `make run` first, or set KAFKA_BOOTSTRAP")
    ensure_topics(bootstrap, settings.topics.all(), partitions=settings.kafka.partitions)
    publisher = Publisher(settings.publisher(bootstrap))
    line = ProgressLine()
    report = simulate(options, publisher, settings.topics, SystemClock(), progress=line,
                      chain_path=Path(settings.chain.simulated_file), on_block=line.block_found)
    print(format_report(report))
    if args.report:
        Path(args.report).write_text(report.to_json(indent=2))
        print(f"report written to {args.report}")


# CLI flags that override an environment variable of the same name (flag wins).
STRATUM_FLAGS = {
    "sha256d_difficulty": "start difficulty on the SHA256d port (fractions allowed, e.g. 0.001)",
    "sha256d_min_difficulty": "vardiff floor on the SHA256d port",
    "scrypt_difficulty": "start difficulty on the scrypt port (e.g. 0.3)",
    "scrypt_min_difficulty": "vardiff floor on the scrypt port",
    "sha256d_port": "SHA256d listen port",
    "scrypt_port": "scrypt listen port",
}


def add_stratum_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("stratum (each overrides the STRATUM_* variable of the same name)")
    for name, text in STRATUM_FLAGS.items():
        kind = int if name.endswith("_port") else float
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"stratum_{name}", type=kind, help=text)
    group.add_argument("--stratum-host", dest="stratum_host", help="listen address (default 127.0.0.1)")


def overrides(args: argparse.Namespace) -> dict[str, object]:
    return {k: v for k, v in vars(args).items() if k.startswith("stratum_") and v is not None}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="poolstream", description="Mining-pool stream processing backend.")
    p.add_argument("--version", action="version", version=f"poolstream {VERSION}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="everything in one process: broker (embedded), agents, API, scheduler, Stratum")
    run.add_argument("--no-stratum", action="store_true", help="do not start the Stratum gateway")
    run.add_argument("--keep-broker", action="store_true",
                     help="at a clean stop, leave the embedded broker running (by default it is stopped once the "
                          "agents drained its input; it is kept whenever messages were still arriving)")
    add_stratum_options(run)
    run.set_defaults(func=cmd_run)
    for name, text in (("worker", "the Faust worker only (needs a ClickHouse server and KAFKA_BOOTSTRAP)"),
                       ("api", "the API only (needs a ClickHouse server and KAFKA_BOOTSTRAP)"),
                       ("scheduler", "the scheduler only (needs a ClickHouse server and KAFKA_BOOTSTRAP)")):
        sub.add_parser(name, help=text).set_defaults(func=cmd_component)
    stratum = sub.add_parser("stratum", help="the Stratum V1 gateway only (needs KAFKA_BOOTSTRAP)")
    add_stratum_options(stratum)
    stratum.set_defaults(func=cmd_stratum)
    broker = sub.add_parser("broker", help="the embedded Kafka-protocol broker in the foreground "
                            "(`poolstream run` starts or reuses it by itself)")
    broker.add_argument("--port", type=int, help="listen port (default EMBEDDED_BROKER_PORT)")
    broker.add_argument("--dir", help="pidfile and log directory (default EMBEDDED_BROKER_DIR)")
    broker.add_argument("--stop", action="store_true", help="stop the running embedded broker")
    broker.add_argument("--status", action="store_true", help="say whether it runs, and where")
    broker.set_defaults(func=cmd_broker)
    sub.add_parser("migrate", help="apply ClickHouse migrations and exit").set_defaults(func=cmd_migrate)
    add_users_parser(sub)
    add_sql_parser(sub)
    add_backup_parsers(sub)
    add_prices_parser(sub)
    add_export_parser(sub)
    sim = sub.add_parser("simulate", help="produce a simulated fleet's shares to a running system")
    sim.add_argument("--miners", type=int, default=10)
    sim.add_argument("--workers", type=int, default=4, help="workers per miner")
    sim.add_argument("--duration", type=float, default=600.0, help="seconds of mining to simulate")
    sim.add_argument("--encoding", choices=("arrow", "json"), default="arrow")
    sim.add_argument("--algorithm", action="append", help="sha256d (default), scrypt, ...; repeatable")
    sim.add_argument("--seed", type=int)
    sim.add_argument("--invalid-fraction", type=float, default=0.0)
    sim.add_argument("--duplicate-fraction", type=float, default=0.0)
    sim.add_argument("--stale-fraction", type=float, default=0.0)
    sim.add_argument("--shares-per-message", type=int, default=5000)
    sim.add_argument("--realtime", action="store_true", help="pace shares on the wall clock")
    sim.add_argument("--report", help="write the simulation report (JSON) to this file")
    sim.add_argument("--network-difficulty", type=float, default=0.0,
                     help="blocks: a share of difficulty d is a block with probability d/D (0: realistic D, no blocks)")
    sim.add_argument("--orphan-rate", type=float, default=0.0, help="fraction of found blocks the simulated chain orphans")
    sim.add_argument("--chain-block-time", type=float, default=1.0,
                     help="seconds per simulated chain block (how fast found blocks mature)")
    sim.add_argument("--no-telemetry", action="store_true", help="produce no hardware telemetry (shares only)")
    sim.add_argument("--failing-rigs", type=int, default=4,
                     help="workers that fail during the run: hot GPU, fan failure, offline, unprofitable, cycled "
                          "(at most half the fleet; 0: none)")
    sim.set_defaults(func=cmd_simulate)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load(**overrides(args))
        setup_logging(settings.run.log_level)
        args.func(settings, args)
    except KeyboardInterrupt:
        sys.exit(130)
    except (SettingsError, BrokerError) as exc:
        print(f"poolstream: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        from bus.publisher import PublishError
        from poolstream.serve import ConfigurationError

        if isinstance(exc, ConfigurationError | PublishError):
            print(f"poolstream: {exc}", file=sys.stderr)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
