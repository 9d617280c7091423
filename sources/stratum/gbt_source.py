"""A job source backed by a real node: JSON-RPC `getblocktemplate` / `submitblock` over HTTP (httpx).

One node per algorithm (a Bitcoin node for SHA256d, a Litecoin node for scrypt). Templates are cached
between polls only by the node itself; a failed call raises `NodeError` naming the URL and the method.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from schemas.algorithms import Algorithm
from sources.stratum.jobs import BlockTemplate
from sources.stratum.settings import GetBlockTemplateSettings


class NodeError(RuntimeError):
    """The node could not be reached or answered with a JSON-RPC error."""


def redact_url(url: str) -> str:
    """`url` without credentials (`http://user:pass@host/` -> `http://host/`), for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


def parse_template(algorithm: Algorithm, gbt: Mapping[str, Any]) -> BlockTemplate:
    """A `BlockTemplate` from a `getblocktemplate` result (hashes there are in display order)."""
    try:
        txs = gbt.get("transactions", [])
        commitment = gbt.get("default_witness_commitment") or ""
        return BlockTemplate(
            algorithm=algorithm,
            height=int(gbt["height"]),
            prevhash=bytes.fromhex(gbt["previousblockhash"])[::-1],
            version=int(gbt["version"]) & 0xFFFFFFFF,
            nbits=int(gbt["bits"], 16),
            curtime=int(gbt["curtime"]),
            coinbase_value=int(gbt["coinbasevalue"]),
            txids=tuple(bytes.fromhex(t["txid"])[::-1] for t in txs),
            tx_data=tuple(str(t["data"]) for t in txs),
            witness_commitment=bytes.fromhex(commitment),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NodeError(f"getblocktemplate: unexpected result ({exc!r})") from None


class GetBlockTemplateJobSource:
    """Templates from `getblocktemplate`; solved blocks go back with `submitblock`."""

    def __init__(self, nodes: Mapping[Algorithm, GetBlockTemplateSettings]) -> None:
        if not nodes:
            raise ValueError("GetBlockTemplateJobSource needs at least one node")
        self._nodes = dict(nodes)
        self._clients = {
            alg: httpx.AsyncClient(
                auth=(s.username, s.password) if s.username else None, timeout=s.timeout_s
            )
            for alg, s in self._nodes.items()
        }
        self._ids = itertools.count(1)

    async def _call(self, algorithm: Algorithm, method: str, params: list[Any]) -> Any:
        node = self._nodes.get(algorithm)
        if node is None:
            raise NodeError(f"no node configured for {algorithm.wire}")
        body = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": params}
        where = redact_url(node.url)
        try:
            resp = await self._clients[algorithm].post(node.url, json=body)
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NodeError(f"{method} to {where}: {exc}") from exc
        if not isinstance(data, dict):
            raise NodeError(f"{method} to {where}: not a JSON-RPC response")
        if data.get("error"):
            raise NodeError(f"{method} to {where}: {data['error']}")
        if resp.status_code != 200:
            raise NodeError(f"{method} to {where}: HTTP {resp.status_code}")
        return data.get("result")

    async def template(self, algorithm: Algorithm) -> BlockTemplate:
        rules = list(self._nodes[algorithm].rules) if algorithm in self._nodes else []
        result = await self._call(algorithm, "getblocktemplate", [{"rules": rules}])
        if not isinstance(result, dict):
            raise NodeError("getblocktemplate: result is not an object")
        return parse_template(algorithm, result)

    async def submit_block(self, template: BlockTemplate, block_hex: str, block_hash: bytes) -> bool:
        # submitblock answers null on success, or a short reason string ("duplicate", "high-hash", ...).
        return await self._call(template.algorithm, "submitblock", [block_hex]) is None

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
