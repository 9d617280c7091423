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
