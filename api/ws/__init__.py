"""The WebSocket `/api/ws` (seed 001 "Real-time Data"): `auth`, `subscribe`/`unsubscribe` to `stats`,
`blocks`, `miner:ADDRESS`, `hardware`, `federation`, and pushes in the seed's message shapes.

`protocol` (messages, channels, who may subscribe), `session` (one connection: bounded send queue, inbound
rate limit, dispatch), `hub` (one per app: subscriptions, fan-out, the feed loops), `feeds` (what is read
from ClickHouse for the pushes), `handler` (the Litestar route).
"""
