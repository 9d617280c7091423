"""Fiat prices: `POST /prices` (system role: a batch of points) and `GET /prices/at` (read: the price of a
coin in a fiat currency at a time, the newest at or before it, with its source)."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Controller, get, post

from api.controllers import ERROR_RESPONSES
from api.controllers.registry import AUTH_RESPONSES
from api.envelope import Envelope, Meta
from api.errors import InvalidRequest, NotFound
from api.security import Permission, requires
from api.services.prices import PricePoint, PriceService, code, point

RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES}


class PriceIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    coin: str
    fiat: str
    ts: dt.datetime
    price: str  # a decimal string, never a JSON number (no float on the money path)
    source: str


class PricesStored(msgspec.Struct, frozen=True):
    stored: int


class PriceAt(msgspec.Struct, frozen=True):
    coin: str
    fiat: str
    at: dt.datetime
    price: str
    source: str


class PricesController(Controller):
    path = "/prices"
    tags = ["prices"]

    @post("/", summary="Store a batch of fiat prices (system role)", responses=RESPONSES,
          guards=[requires(Permission.SYSTEM)])
    async def add(self, data: list[PriceIn], price_service: PriceService, meta: Meta) -> Envelope[PricesStored]:
        if not 1 <= len(data) <= 10_000:
            raise InvalidRequest("send 1 to 10000 prices per request", details={"count": len(data)})
        points: list[PricePoint] = []
        for i, item in enumerate(data):
            try:
                points.append(point(item.coin, item.fiat, item.ts, item.price, item.source))
            except ValueError as exc:
                raise InvalidRequest(f"prices[{i}]: {exc}", details={"index": i}) from None
        return Envelope(data=PricesStored(await price_service.add(points)), meta=meta)

    @get("/at", summary="The price of a coin at a time (the newest at or before it)", responses=RESPONSES,
         guards=[requires(Permission.READ)])
    async def at(self, coin: str, fiat: str, at: dt.datetime, price_service: PriceService,
                 meta: Meta) -> Envelope[PriceAt]:
        try:
            coin, fiat = code(coin, "coin"), code(fiat, "fiat")
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        found = await price_service.at(coin, fiat, at)
        if found is None:
            raise NotFound(f"no {coin}/{fiat} price at or before {at.isoformat()}",
                           details={"coin": coin, "fiat": fiat})
        return Envelope(data=PriceAt(coin, fiat, at, format(found[0].normalize(), "f"), found[1]), meta=meta)
