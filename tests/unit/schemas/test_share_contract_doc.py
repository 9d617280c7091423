"""The published share contract (docs/share.schema.json, docs/shares.md) says what the decoder does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec

from schemas.algorithms import ALGORITHM_NAMES
from schemas.share import READABLE_VERSIONS, SHARE_COLUMNS, Share, batch_to_shares, decode_message

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_json_schema_lists_every_field_and_the_required_ones() -> None:
    share = json.loads((DOCS / "share.schema.json").read_text())["$defs"]["share"]
    fields = set(Share.__struct_fields__)
    assert set(share["properties"]) == fields
    required = set(Share.__struct_fields__[: len(fields) - len(Share.__struct_defaults__)])  # no default
    assert set(share["required"]) == required
    assert share["properties"]["algorithm"]["enum"] == list(ALGORITHM_NAMES)
    assert share["properties"]["v"]["enum"] == list(READABLE_VERSIONS)


def test_field_table_covers_every_column() -> None:
    text = (DOCS / "shares.md").read_text()
    for column in SHARE_COLUMNS:
        assert f"`{column}`" in text, column


def test_the_documented_example_decodes() -> None:
    text = (DOCS / "shares.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.S)
    assert example is not None
    (share,) = batch_to_shares(decode_message(example.group(1).encode()))
    assert share.ntime == 0x6745C1A8 and share.nonce == 0x9F00C3E2 and share.worker == "rig1"
    assert msgspec.json.decode(example.group(1).encode())["miner"] == share.miner
