"""One signed JSON POST (httpx, async): the status and an error text; never raises for a network failure."""

from __future__ import annotations

import httpx

from notify.signing import signed_headers


async def post_signed(client: httpx.AsyncClient, url: str, body: str, secret: str, timestamp: int) -> tuple[int, str]:
    """POST `body` to `url` with the signature headers: (HTTP status, "" or the reason it failed). Status 0: no
    answer (connection refused, timeout, bad URL)."""
    raw = body.encode()
    try:
        response = await client.post(url, content=raw, headers=signed_headers(secret, timestamp, raw))
    except httpx.HTTPError as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}: {response.text[:200]}"
    return response.status_code, error
