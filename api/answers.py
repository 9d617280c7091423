"""Answers encoded once: the hot read endpoints (`/stats`, `/algorithms`, `/miners/{address}`) serve figures
that change only when the snapshot refreshes (or a miner's cache entry does), so their envelope is encoded
once per value and the same bytes answer every request until then. `meta.timestamp` is when the figures
were computed (the snapshot's time), which is what it means everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Response
from litestar.enums import MediaType

from api.envelope import API_VERSION, Envelope, Meta

_ENCODER = msgspec.json.Encoder()


class EncodedAnswers:
    """key -> (the source object it was encoded from, bytes); a new source object re-encodes. Bounded: the
    whole cache is dropped when it reaches `max_entries` (sources change every snapshot interval anyway)."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._max = max_entries
        self._cache: dict[str, tuple[object, bytes]] = {}

    def get(self, key: str, source: object, data: Callable[[], Any], computed_at: dt.datetime) -> bytes:
        hit = self._cache.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
        body = _ENCODER.encode(Envelope(data=data(), meta=Meta(timestamp=computed_at, version=API_VERSION)))
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[key] = (source, body)
        return body


def json_answer(body: bytes) -> Response[Any]:
    """An already encoded JSON envelope as the response."""
    return Response(content=body, media_type=MediaType.JSON)
