"""The one configuration error, the one-line form of any error, and the version: shared by every layer.

A settings group (a frozen dataclass next to the component it configures) raises `SettingsError` from its
`__post_init__` with a message naming the setting; the CLI prints that one line and exits 2.
"""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names it (environment variable or field)."""


def first_line(exc: BaseException) -> str:
    """An error as one line (what poolstream says to operators: never a traceback)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def require_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise SettingsError(f"{name} must be a positive number, got {value!r}")


def _version() -> str:
    try:
        return version("poolstream")  # pyproject.toml is the one place the version is written
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "0+unknown"


VERSION = _version()
