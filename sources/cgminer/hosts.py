"""The rigs to poll: CGMINER_HOSTS (`host[:port]=miner.worker`, comma-separated) and registered ASIC workers."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.config import SettingsError
from schemas.identity import valid_address, valid_worker

DEFAULT_PORT = 4028
VARIABLE = "CGMINER_HOSTS"


@dataclass(frozen=True)
class Rig:
    """One cgminer API endpoint and whose readings it reports."""

    host: str
    port: int
    miner: str
    worker: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_rig(entry: str) -> Rig:
    """`host[:port]=miner.worker` (IPv6 hosts in brackets: `[::1]:4028=...`). Raises ValueError saying why."""
    target, sep, identity = entry.strip().partition("=")
    if not sep:
        raise ValueError(f"{entry.strip()!r} has no '=miner.worker'")
    miner, dot, worker = identity.strip().rpartition(".")
    if not dot or not valid_address(miner) or not valid_worker(worker):
        raise ValueError(f"{identity.strip()!r} is not miner.worker (a valid address, a worker name)")
    target = target.strip()
    host, port_text = target, ""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif target.count(":") == 1:
        host, _, port_text = target.partition(":")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{target!r} has no host")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"{target!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{target!r}: port {port} is out of range")
    return Rig(host, port, miner, worker)


def parse_hosts(text: str) -> list[Rig]:
    """Every rig of CGMINER_HOSTS, or a `SettingsError` naming the variable and the bad entry."""
    rigs = []
    for entry in (e for e in text.split(",") if e.strip()):
        try:
            rigs.append(parse_rig(entry))
        except ValueError as exc:
            raise SettingsError(f"{VARIABLE}: {exc} (expected host[:port]=miner.worker, comma-separated)") from None
    return rigs
