"""A fake cgminer API server for tests: asyncio TCP, one command per connection, answers in JSON (with
cgminer's quirks: bmminer's `}{` between stats objects and a trailing NUL) or in the legacy pipe format.

Canned answers of an Antminer S9-like rig (3 hashboards in `stats`, two fans) or a Whatsminer-like one
(`Power` and fan speeds in `summary`, boards in `devs`). `answers[command]` overrides one command's raw
bytes (malformed answers); `down = True` closes connections without answering."""

from __future__ import annotations

import asyncio
import json
from typing import Any

WHEN = 1_700_000_000


def _status(code: int, msg: str) -> dict[str, Any]:
    return {"STATUS": "S", "When": WHEN, "Code": code, "Msg": msg, "Description": "cgminer 4.9.2"}


ANTMINER: dict[str, dict[str, Any]] = {
    "summary": {"STATUS": [_status(11, "Summary")],
                "SUMMARY": [{"Elapsed": 86_400, "GHS 5s": "13987.12", "GHS av": 13950.5, "Hardware Errors": 12}]},
    "devs": {"STATUS": [_status(9, "3 ASC(s)")], "DEVS": []},
    "stats": {"STATUS": [_status(70, "CGMiner stats")],
              "STATS": [{"BMMiner": "2.0.0", "Miner": "16.8.1.3", "Type": "Antminer S9"},
                        {"STATS": 0, "ID": "BC50", "Elapsed": 86_400, "GHS 5s": "13987.12", "fan_num": 2,
                         "fan1": 0, "fan3": 5880, "fan6": 6000, "temp6": 61, "temp7": 63, "temp8": 60,
                         "temp2_6": 76, "temp2_7": 79, "temp2_8": 75, "chain_rate6": "4650.10",
                         "chain_rate7": "4700.02", "chain_rate8": "4637.00", "chain_hw6": 3, "chain_hw7": 5,
                         "chain_hw8": 4, "freq_avg6": 650.0, "freq_avg7": 650.0, "freq_avg8": 650.0}]},
    "pools": {"STATUS": [_status(7, "1 Pool(s)")],
              "POOLS": [{"POOL": 0, "URL": "stratum+tcp://pool.example.com:3333", "Status": "Alive",
                         "User": "bc1qexample.s9"}]},
}

WHATSMINER: dict[str, dict[str, Any]] = {
    "summary": {"STATUS": [_status(11, "Summary")],
                "SUMMARY": [{"Elapsed": 3600, "MHS av": 100_000_000.0, "MHS 5s": 101_000_000.0,
                             "Temperature": 72.0, "Power": 3360, "Fan Speed In": 4200, "Fan Speed Out": 4300,
                             "Hardware Errors": 0}]},
    "devs": {"STATUS": [_status(9, "2 ASC(s)")],
             "DEVS": [{"ASC": 0, "Slot": 0, "Name": "SM", "Temperature": 70.5, "MHS 5s": 60_000_000.0,
                       "Hardware Errors": 1, "Device Elapsed": 3600},
                      {"ASC": 1, "Slot": 1, "Name": "SM", "Temperature": 73.0, "MHS 5s": 40_000_000.0,
                       "Hardware Errors": 2, "Device Elapsed": 3600}]},
    "stats": {"STATUS": [{"STATUS": "E", "When": WHEN, "Code": 14, "Msg": "Invalid command"}]},
    "pools": {"STATUS": [_status(7, "1 Pool(s)")], "POOLS": [{"POOL": 0, "User": "bc1qexample.m30"}]},
}
PROFILES = {"antminer": ANTMINER, "whatsminer": WHATSMINER}


def as_json(command: str, answer: dict[str, Any]) -> bytes:
    """cgminer-style JSON: bmminer's `stats` objects joined by `}{`, and a trailing NUL."""
    text = json.dumps({**answer, "id": 1}, separators=(",", ":"))
    if command == "stats":
        text = text.replace("},{", "}{")
    return text.encode() + b"\x00"


def as_pipe(command: str, answer: dict[str, Any]) -> bytes:
    """The legacy text API: `STATUS=S,When=...|SUMMARY,Elapsed=...|`."""
    parts = []
    for section, items in answer.items():
        for item in items:
            pairs = ",".join(f"{k}={v}" for k, v in item.items())
            if section == "STATUS":
                parts.append(pairs)
            elif section == "DEVS":
                parts.append(pairs)  # each device names itself: ASC=0,...
            else:
                parts.append(f"{section},{pairs}")
    return ("|".join(parts) + "|").encode() + b"\x00"


class FakeCgminer:
    """`async with FakeCgminer("json") as rig:` listens on 127.0.0.1:`rig.port`; `rig.commands` records what
    was asked."""

    def __init__(self, mode: str = "json", profile: str = "antminer") -> None:
        assert mode in ("json", "pipe")
        self.mode = mode
        self.profile = PROFILES[profile]
        self.answers: dict[str, bytes] = {}
        self.down = False
        self.commands: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.read(4096)
            if self.down:
                return
            text = raw.decode(errors="replace").strip("\x00 \n")
            command = json.loads(text)["command"] if text.startswith("{") else text
            self.commands.append(command)
            if command in self.answers:
                writer.write(self.answers[command])
            else:
                answer = self.profile.get(command) or {"STATUS": [{"STATUS": "E", "Code": 14, "Msg": "Invalid command"}]}
                writer.write(as_json(command, answer) if self.mode == "json" else as_pipe(command, answer))
            await writer.drain()
        finally:
            writer.close()

    async def __aenter__(self) -> FakeCgminer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
