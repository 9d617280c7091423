"""cgminer answers: JSON (with cgminer's known invalid JSON repaired), the legacy pipe format, and malformed
answers refused with an AnswerError; the mapping to one reading per device for Antminer- and Whatsminer-like
rigs; CGMINER_HOSTS parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schemas.config import SettingsError
from sources.cgminer.hosts import DEFAULT_PORT, parse_hosts
from sources.cgminer.protocol import Answer, AnswerError, parse_answer, parse_pipe
from sources.cgminer.readings import number, rig_fan, to_readings
from tests.support_cgminer import ANTMINER, WHATSMINER, as_json, as_pipe

MINER = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def parsed(profile: dict[str, dict[str, Any]], encode: Callable[[str, dict[str, Any]], bytes]) -> dict[str, Answer]:
    out = {}
    for command, answer in profile.items():
        try:
            out[command] = parse_answer(encode(command, answer), command)
        except AnswerError:
            continue
    return out


def test_json_with_trailing_nul_and_missing_commas_is_repaired() -> None:
    raw = as_json("stats", ANTMINER["stats"])
    assert b"}{" in raw and raw.endswith(b"\x00")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.rstrip(b"\x00"))
    answer = parse_answer(raw, "stats")
    assert [s.get("Type") for s in answer["STATS"]] == ["Antminer S9", None]
    assert answer["STATS"][1]["chain_rate7"] == "4700.02"


def test_trailing_commas_and_control_characters_are_tolerated() -> None:
    raw = b'{"STATUS":[{"STATUS":"S","Msg":"Summary\x01"},],"SUMMARY":[{"MHS av":5.5,},],"id":1}\x00'
    assert parse_answer(raw, "summary")["SUMMARY"] == [{"MHS av": 5.5}]


def test_joined_commands_are_flattened() -> None:
    joined = {"summary": [{**ANTMINER["summary"], "id": 1}], "pools": [{**ANTMINER["pools"], "id": 1}], "id": 1}
    answer = parse_answer(json.dumps(joined).replace("},{", "}{").encode() + b"\x00", "summary+pools")
    assert answer["SUMMARY"][0]["GHS av"] == 13950.5 and answer["POOLS"][0]["User"] == "bc1qexample.s9"
    assert len(answer["STATUS"]) == 2


def test_pipe_format() -> None:
    text = ("STATUS=S,When=1700000000,Code=11,Msg=Summary,Description=cgminer 4.9.2|"
            "SUMMARY,Elapsed=42,MHS av=13.5,Hardware Errors=3|")
    answer = parse_pipe(text, "summary")
    assert answer["STATUS"][0]["Code"] == 11 and answer["STATUS"][0]["Description"] == "cgminer 4.9.2"
    assert answer["SUMMARY"] == [{"Elapsed": 42, "MHS av": 13.5, "Hardware Errors": 3}]
    devs = parse_answer(b"STATUS=S,Code=9|ASC=0,Temperature=70.5,MHS 5s=1.5|ASC=1,Temperature=71|\x00", "devs")
    assert [d["ASC"] for d in devs["DEVS"]] == [0, 1] and devs["DEVS"][0]["MHS 5s"] == 1.5


@pytest.mark.parametrize("raw", [b"", b"\x00", b"{not json", b"[1, 2]", b'{"SUMMARY": []}', b"SUMMARY,Elapsed=1|",
                                 b"|||", b"=|", b'{"STATUS":[{"STATUS":"E","Msg":"Invalid command"}]}\x00',
                                 b"STATUS=F,Msg=boom|"])
def test_malformed_or_failed_answers_are_refused(raw: bytes) -> None:
    with pytest.raises(AnswerError):
        parse_answer(raw, "summary")


@pytest.mark.parametrize("encode", [as_json, as_pipe])
def test_antminer_chains_become_devices(encode: Callable[[str, dict[str, Any]], bytes]) -> None:
    readings = to_readings(parsed(ANTMINER, encode), MINER, "s9", 1_000)
    assert [r.device_id for r in readings] == ["chain6", "chain7", "chain8"]
    assert {r.device_class for r in readings} == {"ASIC"} and {r.model for r in readings} == {"Antminer S9"}
    assert [r.hashrate for r in readings] == pytest.approx([4650.10e9, 4700.02e9, 4637.00e9])
    assert [r.temperature_c for r in readings] == [76, 79, 75]  # chip, not board
    assert [r.hardware_errors for r in readings] == [3, 5, 4]
    assert {r.fan_rpm for r in readings} == {5880} and {r.uptime_s for r in readings} == {86_400}
    assert {(r.ts, r.miner, r.worker) for r in readings} == {(1_000, MINER, "s9")}
    assert all(r.power_w is None for r in readings)


@pytest.mark.parametrize("encode", [as_json, as_pipe])
def test_whatsminer_power_is_split_by_hashrate(encode: Callable[[str, dict[str, Any]], bytes]) -> None:
    readings = to_readings(parsed(WHATSMINER, encode), MINER, "m30", 5)
    assert [r.device_id for r in readings] == ["ASC0", "ASC1"]
    assert [r.power_w for r in readings] == pytest.approx([3360 * 0.6, 3360 * 0.4])
    assert sum(r.power_w or 0 for r in readings) == pytest.approx(3360)
    assert [r.hashrate for r in readings] == pytest.approx([60e12, 40e12])
    assert {r.fan_rpm for r in readings} == {4200} and [r.hardware_errors for r in readings] == [1, 2]


def test_summary_alone_is_one_device() -> None:
    answers = {"summary": parse_answer(as_json("summary", ANTMINER["summary"]), "summary")}
    (reading,) = to_readings(answers, MINER, "w", 1)
    assert reading.device_id == "rig" and reading.hashrate == pytest.approx(13987.12e9)
    assert reading.uptime_s == 86_400 and reading.hardware_errors == 12
    assert to_readings({}, MINER, "w", 1) == []


def test_dead_fan_reads_zero() -> None:
    assert rig_fan({"fan_num": 2, "fan1": 6000, "fan2": 0}, {}) == 0.0
    assert rig_fan({"fan_num": 2, "fan1": 6000, "fan2": 5800, "fan3": 0}, {}) == 5800
    assert rig_fan({"fan1": 0}, {}) == 0.0
    assert rig_fan({}, {}) is None
    assert number("60-62-75-74") == 75 and number("3250 W") == 3250 and number("n/a") is None
    assert number(True) is None


def test_cgminer_hosts() -> None:
    rigs = parse_hosts(f" 10.0.0.5={MINER}.s9 , rig.local:4029={MINER}.s19,[::1]:4030={MINER}.m30,")
    assert [(r.host, r.port, r.worker) for r in rigs] == [("10.0.0.5", DEFAULT_PORT, "s9"), ("rig.local", 4029, "s19"),
                                                           ("::1", 4030, "m30")]
    assert {r.miner for r in rigs} == {MINER} and parse_hosts("") == []


@pytest.mark.parametrize("bad", ["10.0.0.5", f"10.0.0.5:x={MINER}.w", f"10.0.0.5:70000={MINER}.w",
                                 "10.0.0.5=nodot", "10.0.0.5=notanaddress.w", f"={MINER}.w", f"h={MINER}.bad name"])
def test_bad_cgminer_hosts_name_the_variable(bad: str) -> None:
    with pytest.raises(SettingsError, match="CGMINER_HOSTS"):
        parse_hosts(bad)
