"""The embedded broker as its own process: started detached, found again through its pidfile, outliving the
process that started it (with what was produced to it), stopped on request; a stale pidfile is ignored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from bus.admin import ensure_topics
from poolstream import broker_service
from poolstream.broker import free_port

pytestmark = pytest.mark.integration


@pytest.fixture()
def directory(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "broker"
    broker_service.stop(tmp_path / "broker")


def test_started_detached_reused_and_stopped(directory: Path) -> None:
    port = free_port()
    record, started = broker_service.ensure_running(directory, port)
    assert started and record.port == port and record.pid != os.getpid()
    again, started_again = broker_service.ensure_running(directory, port)
    assert not started_again and again == record
    assert json.loads((directory / broker_service.PIDFILE).read_text())["pid"] == record.pid
    assert broker_service.stop(directory)
    assert broker_service.read_record(directory) is None
    assert not (directory / broker_service.PIDFILE).exists()
    assert not broker_service.stop(directory)


def test_it_outlives_a_killed_starter_with_its_messages(directory: Path) -> None:
    """What `kill -9` of `poolstream run` means for the broker: nothing. A child process starts the broker,
    produces, and is killed; the broker still serves every message, and committed offsets stay."""
    port = free_port()
    script = (
        "import sys, pathlib; from poolstream import broker_service as b; from bus.admin import ensure_topics;"
        "from confluent_kafka import Producer;"
        f"r, _ = b.ensure_running(pathlib.Path({str(directory)!r}), {port});"
        "ensure_topics(r.bootstrap, ['kept'], partitions=1);"
        "p = Producer({'bootstrap.servers': r.bootstrap, 'compression.type': 'lz4'});"
        "[p.produce('kept', value=b'%d' % i) for i in range(500)]; p.flush();"
        "print('ready', flush=True); import time; time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    time.sleep(0.5)
    record = broker_service.read_record(directory)
    assert record is not None and record.port == port
    consumer = Consumer({"bootstrap.servers": record.bootstrap, "group.id": "g", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("kept", 0, 0)])
    seen: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(seen) < 500 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            seen.append(msg.value())
    consumer.commit(offsets=[TopicPartition("kept", 0, 250)], asynchronous=False)
    consumer.close()
    assert seen == [b"%d" % i for i in range(500)]
    again = Consumer({"bootstrap.servers": record.bootstrap, "group.id": "g"})
    (committed,) = again.committed([TopicPartition("kept", 0)], timeout=10)
    again.close()
    assert committed.offset == 250


def test_stale_pidfile_is_ignored(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / broker_service.PIDFILE).write_text(json.dumps(
        {"pid": 2**22 + 12345, "host": "127.0.0.1", "port": free_port(), "started": 0}))
    assert broker_service.read_record(directory) is None
    record, started = broker_service.ensure_running(directory, free_port())
    assert started and broker_service.read_record(directory) == record
    ensure_topics(record.bootstrap, ["x"], partitions=1)
    producer = Producer({"bootstrap.servers": record.bootstrap})
    producer.produce("x", b"1")
    assert producer.flush(10) == 0


def test_a_port_taken_by_another_program_is_one_clear_error(directory: Path) -> None:
    import socket

    from poolstream.broker import BrokerError

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(BrokerError, match="EMBEDDED_BROKER_PORT"):
            broker_service.ensure_running(directory, other.getsockname()[1])
