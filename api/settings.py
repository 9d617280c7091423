"""Settings of the HTTP API: where it listens and the version it reports in every response's `meta`."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.config import VERSION


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    version: str = VERSION
