"""Root settings: composed once from the groups' own defaults; every bad value is one line naming it."""

from __future__ import annotations

import dataclasses

import pytest

from api.settings import ApiSettings
from bus.settings import KafkaSettings
from poolstream.cli import main
from poolstream.settings import VARIABLES, load
from schemas.algorithms import Algorithm
from schemas.config import VERSION, SettingsError
from sinks.client import ClickHouseSettings
from sources.stratum.settings import StratumSettings, default_ports
from streams.settings import StreamSettings


def test_defaults_are_the_groups_own() -> None:
    s = load({})
    assert s.kafka == KafkaSettings() and s.clickhouse == ClickHouseSettings() and s.api == ApiSettings()
    assert s.streams == StreamSettings()
    assert s.stratum == StratumSettings()
    assert s.stratum.ports == default_ports()
    assert s.embedded_broker and s.kafka.client_bootstrap == "127.0.0.1:19092"
    assert s.api.version == VERSION


def test_environment_reaches_every_group_once() -> None:
    s = load({"KAFKA_BOOTSTRAP": "k1:9092,k2:9092", "kafka_partitions": "8", "API_PORT": "9000",
              "STREAM_MAX_ROWS": "5000", "STRATUM_SCRYPT_DIFFICULTY": "0.05", "STRATUM_ENABLED": "no",
              "LOG_LEVEL": "debug", "KAFKA_TOPIC_PREFIX": "x."})
    assert not s.embedded_broker and s.kafka.bootstrap == "k1:9092,k2:9092"
    assert s.kafka.partitions == s.streams.partitions == s.stratum.share_partitions == 8
    assert s.api.port == 9000 and s.streams.max_rows == 5000
    assert s.stratum.port_for(Algorithm.SCRYPT).start_difficulty == 0.05
    assert s.stratum.port_for(Algorithm.SCRYPT).min_difficulty <= 0.05  # the floor follows a lower start
    assert not s.run.stratum_enabled and s.run.log_level == "DEBUG"
    assert s.topics.shares == "x.shares"
    assert s.stream("b:1") == dataclasses.replace(s.streams, bootstrap="b:1")


def test_node_settings_reach_the_gateway() -> None:
    s = load({"STRATUM_NODE_URL": "http://127.0.0.1:9332", "STRATUM_NODE_USER": "rpc",
              "STRATUM_NODE_PASSWORD": "secret", "STRATUM_NODE_ALGORITHM": "scrypt"})
    assert s.stratum.node is not None and s.stratum.node.url == "http://127.0.0.1:9332"
    assert s.stratum.node_algorithm is Algorithm.SCRYPT and "secret" not in repr(s)


def test_overrides_win_over_the_environment() -> None:
    s = load({"STRATUM_SHA256D_DIFFICULTY": "1"}, stratum_sha256d_difficulty=0.001)
    assert s.stratum.port_for(Algorithm.SHA256D).start_difficulty == 0.001


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"API_PORT": "70000"}, "API_PORT"),
        ({"API_PORT": "http"}, "API_PORT"),
        ({"KAFKA_PARTITIONS": "0"}, "KAFKA_PARTITIONS"),
        ({"STREAM_FLUSH_INTERVAL_S": "-1"}, "STREAM_FLUSH_INTERVAL_S"),
        ({"STREAM_FLUSH_INTERVAL_S": "nan"}, "STREAM_FLUSH_INTERVAL_S"),
        ({"CLICKHOUSE_DATABASE": "1db"}, "CLICKHOUSE_DATABASE"),
        ({"STRATUM_ENABLED": "maybe"}, "STRATUM_ENABLED"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"STRATUM_NODE_ALGORITHM": "x11"}, "STRATUM_NODE_ALGORITHM"),
        ({"STRATUM_NODE_URL": "ftp://node"}, "STRATUM_NODE_URL"),
        ({"STRATUM_NODE_USER": "rpc"}, "STRATUM_NODE_USER"),
        ({"STRATUM_SHA256D_PORT": "3337"}, "STRATUM_SHA256D_PORT"),  # the scrypt port's default
        ({"STRATUM_SCRYPT_MIN_DIFFICULTY": "2", "STRATUM_SCRYPT_DIFFICULTY": "1"}, "STRATUM_SCRYPT_MIN_DIFFICULTY"),
    ],
)
def test_bad_values_are_one_line_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(env)
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_every_variable_targets_a_real_field() -> None:
    groups = {"kafka": KafkaSettings, "clickhouse": ClickHouseSettings, "api": ApiSettings,
              "stream": StreamSettings, "stratum": StratumSettings}
    for var in VARIABLES:
        for group, field in var.targets:
            if group in groups:
                assert field in {f.name for f in dataclasses.fields(groups[group])}, var.name


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--sha256d-port", "4444", "--scrypt-port", "4444"],
        ["run", "--scrypt-difficulty", "0.01", "--scrypt-min-difficulty", "1"],
        ["stratum", "--sha256d-difficulty", "-1"],
    ],
)
def test_cli_prints_one_line_and_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("poolstream: ") and "\n" not in err and "Traceback" not in err


def test_simulate_warns_when_duration_exceeds_share_max_past(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import bus.admin

    monkeypatch.setattr(bus.admin, "broker_reachable", lambda *a, **k: False)  # stop right after the checks
    monkeypatch.setenv("SHARE_MAX_PAST_S", "3600")
    with pytest.raises(SystemExit):
        main(["simulate", "--duration", "10000"])
    err = capsys.readouterr().err
    assert "SHARE_MAX_PAST_S (3600s)" in err and "time_skew" in err
    assert "no Kafka broker" in err  # and the unreachable broker is one line naming the fix
    with pytest.raises(SystemExit):
        main(["simulate", "--duration", "600"])
    assert "SHARE_MAX_PAST_S" not in capsys.readouterr().err


def test_run_refuses_a_taken_port_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["run", "--scrypt-port", str(port)])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "STRATUM_SCRYPT_PORT" in err and str(port) in err and "\n" not in err
