"""The conversions and checks of `poolstream.settings`: each returns the value or raises ValueError with a
short reason; `Variable` maps one environment variable onto the settings field(s) it sets."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from schemas.algorithms import Algorithm

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


# ---- conversions and checks: each returns the value or raises ValueError with a short reason ----------


def text(raw: object) -> str:
    return str(raw).strip()


def integer(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be an integer")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError("must be an integer") from None


def floating(raw: object) -> float:
    try:
        value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false (1/0, yes/no, on/off)")


def tcp_port(raw: object) -> int:
    value = integer(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number in 0..65535")
    return value


def at_least(low: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        value = integer(raw)
        if value < low:
            raise ValueError(f"must be an integer >= {low}")
        return value

    return parse


def positive(raw: object) -> float:
    value = floating(raw)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def identifier(raw: object) -> str:
    value = text(raw)
    if not value.isascii() or not (value[0].isalpha() or value[0] == "_") or not value.replace("_", "a").isalnum():
        raise ValueError("must be letters, digits and _ (not starting with a digit)")
    return value


def log_level(raw: object) -> str:
    value = text(raw).upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value


def algorithm(raw: object) -> Algorithm:
    return raw if isinstance(raw, Algorithm) else Algorithm.parse(str(raw))


def not_empty(raw: object) -> str:
    value = text(raw)
    if not value:
        raise ValueError("must not be empty")
    return value


@dataclass(frozen=True)
class Variable:
    """One environment variable: how to read it and which group field(s) it sets."""

    name: str
    parse: Callable[[object], object]
    targets: tuple[tuple[str, str], ...]  # (group, field)
    help: str = ""


def variable(name: str, parse: Callable[[object], object], *targets: str, help: str = "") -> Variable:
    return Variable(name, parse, tuple((t.split(".")[0], t.split(".")[1]) for t in targets), help)
