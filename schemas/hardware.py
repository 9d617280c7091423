"""Hardware classes a share or a rig reports, and the hint taken from a miner's user agent."""

from __future__ import annotations

HARDWARE_CLASSES: tuple[str, ...] = ("cpu", "gpu", "asic")

_ASIC = ("cgminer", "bmminer", "antminer", "bfgminer", "whatsminer", "btminer", "avalon", "braiins",
         "bosminer", "luxminer", "vnish", "innosilicon")
_GPU = ("gpu", "ethminer", "teamredminer", "lolminer", "sgminer", "nbminer", "t-rex", "gminer", "ccminer",
        "bzminer", "srbminer", "nanominer")
_CPU = ("cpuminer", "minerd", "xmrig", "cpu")


def hardware_hint(user_agent: str) -> str:
    """``asic``, ``gpu``, ``cpu`` or ``""`` from the user agent sent with `mining.subscribe`."""
    ua = user_agent.lower()
    if any(k in ua for k in _ASIC):
        return "asic"
    if any(k in ua for k in _GPU):
        return "gpu"
    if any(k in ua for k in _CPU):
        return "cpu"
    return ""


def hardware_class(hint: str) -> str:
    """The class a stored hint counts under in statistics (`unknown` when it is none of the classes)."""
    return hint if hint in HARDWARE_CLASSES else "unknown"
