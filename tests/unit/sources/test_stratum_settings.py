"""Settings validation names the bad field."""

from __future__ import annotations

import dataclasses

import pytest

from schemas.algorithms import Algorithm
from sources.stratum.settings import GetBlockTemplateSettings, PortSettings, SettingsError, StratumSettings


def test_defaults() -> None:
    s = StratumSettings()
    assert s.host == "127.0.0.1"
    assert [(p.algorithm, p.port) for p in s.ports] == [(Algorithm.SHA256D, 3333), (Algorithm.SCRYPT, 3337)]
    assert s.port_for(Algorithm.SCRYPT).start_difficulty < 1  # fractional: a CPU miner can find shares


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extranonce2_size": 1}, "extranonce2_size"),
        ({"vardiff_target_s": 0}, "vardiff_target_s"),
        ({"max_connections": 0}, "max_connections"),
        ({"ban_invalid_percent": 150}, "ban_invalid_percent"),
        ({"coinbase_script_hex": "zz"}, "coinbase_script_hex"),
        ({"ports": ()}, "ports"),
    ],
)
def test_bad_values_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(SettingsError, match=field):
        dataclasses.replace(StratumSettings(), **change)  # type: ignore[arg-type]


def test_port_checks() -> None:
    with pytest.raises(SettingsError, match="start_difficulty"):
        PortSettings(Algorithm.SHA256D, 3333, start_difficulty=0.0, min_difficulty=1, max_difficulty=2, nbits=0x1D00FFFF)
    with pytest.raises(SettingsError, match="min_difficulty <= start_difficulty"):
        PortSettings(Algorithm.SHA256D, 3333, start_difficulty=5, min_difficulty=1, max_difficulty=2, nbits=0x1D00FFFF)
    with pytest.raises(SettingsError, match="nbits"):
        PortSettings(Algorithm.SCRYPT, 3337, start_difficulty=1, min_difficulty=1, max_difficulty=2, nbits=0x1D80FFFF)
    with pytest.raises(SettingsError, match="algorithm"):
        PortSettings(Algorithm.ETHASH, 1, start_difficulty=1, min_difficulty=1, max_difficulty=2, nbits=0x1D00FFFF)
    with pytest.raises(SettingsError, match="url"):
        GetBlockTemplateSettings("localhost:8332")


def _port(alg: Algorithm, number: int) -> PortSettings:
    return PortSettings(alg, number, start_difficulty=1, min_difficulty=1, max_difficulty=2, nbits=0x1D00FFFF)


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: StratumSettings(ports=(_port(Algorithm.SHA256D, 3333), _port(Algorithm.SCRYPT, 3333))),
         "stratum.ports.scrypt.port"),
        (lambda: StratumSettings(ports=(_port(Algorithm.SHA256D, 3333), _port(Algorithm.SHA256D, 3334))),
         "stratum.ports.sha256d"),
        (lambda: PortSettings(Algorithm.SCRYPT, 3337, start_difficulty=0.5, min_difficulty=2, max_difficulty=9,
                              nbits=0x1E0FFFF0), "stratum.ports.scrypt.min_difficulty"),
        (lambda: PortSettings(Algorithm.SCRYPT, 3337, start_difficulty=5, min_difficulty=2, max_difficulty=3,
                              nbits=0x1E0FFFF0), "stratum.ports.scrypt.max_difficulty"),
        (lambda: StratumSettings(node_url="localhost:8332"), "stratum.node_url"),
        (lambda: StratumSettings(node_url="http://"), "stratum.node_url"),
        (lambda: StratumSettings(node_user="rpc"), "stratum.node_url"),
        (lambda: StratumSettings(ports=(_port(Algorithm.SCRYPT, 3337),), node_url="http://127.0.0.1:8332/"),
         "stratum.node_algorithm"),
    ],
)
def test_cross_field_errors_are_one_settings_error_line(build: object, named: str) -> None:
    assert callable(build)
    with pytest.raises(SettingsError) as caught:
        build()
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_port_zero_may_repeat() -> None:
    s = StratumSettings(ports=(_port(Algorithm.SHA256D, 0), _port(Algorithm.SCRYPT, 0)))
    assert [p.port for p in s.ports] == [0, 0]


def test_node_settings() -> None:
    assert StratumSettings().node is None
    s = StratumSettings(node_url="https://node.example:8332/", node_user="rpc", node_password="s3cret",
                        node_algorithm=Algorithm.SHA256D)
    assert s.node == GetBlockTemplateSettings("https://node.example:8332/", "rpc", "s3cret")
    assert "s3cret" not in repr(s) and "s3cret" not in repr(s.node)
