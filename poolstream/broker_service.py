"""The embedded broker as a service of its own: `poolstream broker` runs it, `poolstream run` starts or reuses it.

The broker must outlive the app: a crash or `kill -9` of `poolstream run` then loses nothing that reached
the broker, and the consumer group's committed offsets survive the restart. So in embedded mode the broker
is NOT a child of the app: `ensure_running` finds a live broker through its pidfile (`<dir>/broker.json`:
pid, port, start time) and reuses it, or starts `poolstream broker` detached (its own session, no
parent-death signal) and waits until it listens. `poolstream broker` itself supervises the Tansu process
(which dies with it), writes the pidfile once listening and removes it when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from poolstream.broker import BrokerError, port_open
from poolstream.broker_serve import BrokerService, RecyclePolicy

log = logging.getLogger("poolstream")

PIDFILE = "broker.json"
LOGFILE = "broker.log"


@dataclass(frozen=True)
class BrokerRecord:
    """What the pidfile says about a running embedded broker."""

    pid: int
    host: str
    port: int
    started: float

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def read_record(directory: Path) -> BrokerRecord | None:
    """The live broker recorded in `directory`, or None (no pidfile, a dead pid, or nothing listening)."""
    try:
        data = json.loads((directory / PIDFILE).read_text())
        record = BrokerRecord(int(data["pid"]), str(data["host"]), int(data["port"]), float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(record.pid) or not port_open(record.host, record.port):
        return None
    return record


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    # a zombie is not a broker
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def write_record(directory: Path, record: BrokerRecord) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (PIDFILE + ".tmp")
    tmp.write_text(json.dumps(record.__dict__))
    tmp.replace(directory / PIDFILE)


def ensure_running(directory: Path, port: int, timeout_s: float = 20.0) -> tuple[BrokerRecord, bool]:
    """The embedded broker of `directory`: reused if it is alive, else started detached. Returns the record
    and whether this call started it."""
    record = read_record(directory)
    if record is not None:
        if record.port != port:
            raise BrokerError(
                f"the embedded broker of {directory} listens on port {record.port}, not EMBEDDED_BROKER_PORT={port}: "
                f"stop it (`poolstream broker --stop`) or set EMBEDDED_BROKER_PORT={record.port}"
            )
        return record, False
    deadline = time.monotonic() + 5.0  # a broker that is just stopping lets go of its port shortly
    while port_open("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.1)
    if port_open("127.0.0.1", port):
        raise BrokerError(f"port {port} is in use by another program: set EMBEDDED_BROKER_PORT to a free port, "
                          "or KAFKA_BOOTSTRAP to use that broker")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOGFILE).open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "poolstream.cli", "broker", "--port", str(port), "--dir", str(directory)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = read_record(directory)
        if record is not None:
            return record, True
        if proc.poll() is not None:
            tail = (directory / LOGFILE).read_text(errors="replace").strip().splitlines()[-1:]
            raise BrokerError(f"the embedded broker exited at start: {tail[0] if tail else 'no output'} "
                              f"(log: {directory / LOGFILE})")
        time.sleep(0.05)
    proc.terminate()
    raise BrokerError(f"the embedded broker did not start within {timeout_s:.0f}s (log: {directory / LOGFILE})")


def stop(directory: Path, timeout_s: float = 10.0) -> bool:
    """Stop the embedded broker of `directory` (SIGTERM, then SIGKILL), and wait until it let go of its port.
    False if none was running. What it held that was not yet consumed is gone (memory only)."""
    record = read_record(directory)
    if record is None:
        with contextlib.suppress(OSError):
            (directory / PIDFILE).unlink()
        return False
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(record.pid):
        time.sleep(0.05)
    if pid_alive(record.pid):
        os.kill(record.pid, signal.SIGKILL)
    while port_open(record.host, record.port) and time.monotonic() < deadline + 5.0:
        time.sleep(0.05)
    return True


def serve(directory: Path, port: int, policy: RecyclePolicy | None = None) -> None:
    """`poolstream broker`: run the broker service (`poolstream.broker_serve`) until SIGINT/SIGTERM (or until
    Tansu itself dies), pidfile meanwhile."""
    directory.mkdir(parents=True, exist_ok=True)
    service = BrokerService(directory, port, policy or RecyclePolicy())

    def listening() -> None:
        write_record(directory, BrokerRecord(os.getpid(), "127.0.0.1", port, time.time()))
        print(f"poolstream: embedded broker on 127.0.0.1:{port} (pid {os.getpid()}, pidfile {directory / PIDFILE})",
              file=sys.stderr, flush=True)

    try:
        asyncio.run(service.run(listening))
    finally:
        with contextlib.suppress(OSError):
            (directory / PIDFILE).unlink()


class BrokerWatch:
    """A scheduler job of `poolstream run` on the embedded broker: if the broker is gone (crashed, killed),
    start a new one on the same port and re-create the topics. The new broker reports what the old one lost
    (its stats; health warns); the agents rejoin it and read the new topics from their start."""

    id = "embedded-broker-watch"

    def __init__(self, directory: Path, port: int, create_topics: Callable[[str], None], interval_s: float = 5.0) -> None:
        self.directory, self.port, self.interval_s = directory, port, interval_s
        self._create_topics = create_topics
        self.restarts = 0

    async def run(self) -> None:
        await asyncio.to_thread(self.check)

    def check(self) -> bool:
        """True if the broker had to be restarted."""
        if read_record(self.directory) is not None:
            return False
        record, started = ensure_running(self.directory, self.port)
        self._create_topics(record.bootstrap)
        if started:
            self.restarts += 1
            log.error("the embedded broker was gone: started a new one (pid %d); what the old one held unconsumed "
                      "is lost and counted in health (broker.lost_messages)", record.pid)
        return started
