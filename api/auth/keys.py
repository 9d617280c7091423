"""API keys: `ps_live_<key_id>_<secret>` (seed 001 shows `otedama_live_sk_...`). The key is shown once;
ClickHouse keeps only the sha256 of the whole key and the public `key_id` used to list and revoke it."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "ps_live_"
_KEY = re.compile(r"ps_live_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")


def new_key() -> tuple[str, str]:
    """A fresh key and its key id."""
    key_id = secrets.token_hex(6)
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}", key_id


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, None for anything else."""
    found = _KEY.fullmatch(key)
    return found.group(1) if found else None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
