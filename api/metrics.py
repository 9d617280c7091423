"""Prometheus for the API: request latency and counts (a middleware) and GET /metrics.

/metrics serves the default REGISTRY, where every component of the process registers its metrics.
The `route` label is the route template (`/api/v1/miners/{address:str}`), never the raw path, so label
cardinality stays bounded. Requests that match no route (404, 405 from the router) never reach a route's
middleware stack and are not measured here.
"""

from __future__ import annotations

import time

from litestar import get
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response import Response
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

LABELS = ("route", "method", "status")
REQUEST_SECONDS = Histogram("poolstream_api_request_seconds", "API request latency", LABELS)
REQUESTS = Counter("poolstream_api_requests", "API requests answered", LABELS)


class MetricsMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500  # what the caller gets if the app dies before answering

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        finally:
            labels = (scope.get("path_template", "unmatched"), scope.get("method", ""), str(status))
            REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
            REQUESTS.labels(*labels).inc()


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    """Prometheus text exposition of the default registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
