"""Serving `poolstream run` (and the single components) until SIGINT/SIGTERM: uvicorn on the one event loop,
then the orderly stop — requests drained, the components' lifespans unwound in order, and whatever still runs
after that cancelled with a bound (never an endless wait at exit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator

import uvicorn
from litestar import Litestar

from poolstream.settings import Settings

log = logging.getLogger("poolstream")


class ConfigurationError(RuntimeError):
    """A component cannot run in this configuration; the message says what to change."""


def say(message: str) -> None:
    print(f"poolstream: {message}", file=sys.stderr, flush=True)


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture: `serve_api` owns SIGINT/SIGTERM (uvicorn would re-raise them
    after shutdown as a KeyboardInterrupt in the middle of the components' orderly stop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve_api(settings: Settings, app: Litestar) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully: requests drained, lifespans unwound in order."""
    config = uvicorn.Config(app, host=settings.api.host, port=settings.api.port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=10)
    server = _Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            if server.should_exit:  # a second Ctrl-C: stop waiting for in-flight requests
                server.force_exit = True
            say("stopping (Ctrl-C again to skip waiting for open requests)")
            server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        say(f"API on http://{settings.api.host}:{settings.api.port}/api/v1 (docs /schema/swagger, metrics /metrics)")
        await server.serve()
        if not server.started:
            raise ConfigurationError(
                f"the API could not start on {settings.api.host}:{settings.api.port} (port in use? set API_PORT)"
            )
        if not await _stop_stragglers():
            say("stopped (tasks left behind, see the log; nothing is lost: what they held is replayed)")
            logging.shutdown()
            os._exit(0)  # asyncio.run would wait for them forever

    asyncio.run(main())
    say("stopped")


async def _stop_stragglers(timeout_s: float = 3.0) -> bool:
    """Cancel what still runs after the orderly stop (Faust's consumer tasks, after a lost broker, may not
    stop); True when all ended within `timeout_s`. By now every write is durable and what was not
    committed is replayed at the next start, so leaving stragglers behind loses nothing."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return True
    _, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        frames = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in task.get_stack(limit=4))
        log.warning("still running %.0fs after the stop, left behind: %s (%s)", timeout_s, task.get_name(), frames)
    return not pending
