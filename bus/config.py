"""confluent-kafka client configuration shared by every client poolstream creates."""

from __future__ import annotations

import logging
from typing import Any

RDKAFKA_LOG = logging.getLogger("rdkafka")


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """Base config: librdkafka logs go through Python logging (served on poll) instead of raw stderr lines."""
    return {"bootstrap.servers": bootstrap, "logger": RDKAFKA_LOG, **extra}
