"""Chain status from a bitcoind-compatible node (Bitcoin Core, Litecoin Core, Dogecoin Core): JSON-RPC over HTTP.

`getblockhash height` says which block holds the height on the node's main chain: another hash means ours
was orphaned. `getblock hash` gives its `confirmations` (-1 on a side chain, also orphaned).
"""

from __future__ import annotations

from typing import Any

import httpx

from sources.chain.status import ChainUnavailable

NOT_FOUND = -8  # bitcoind RPC_INVALID_PARAMETER: "Block height out of range"
BLOCK_NOT_FOUND = -5  # RPC_INVALID_ADDRESS_OR_KEY: "Block not found"


class RpcError(ChainUnavailable):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code


class NodeRpcChain:
    """`ChainStatus` over one node per coin. `urls` maps a coin code to its node's URL (credentials either in
    the URL or `user`/`password`); `default_url` serves the coins not in `urls`."""

    def __init__(self, urls: dict[str, str], default_url: str = "", *, user: str = "", password: str = "",
                 timeout_s: float = 10.0) -> None:
        self._urls = {code.upper(): url for code, url in urls.items()}
        self._default = default_url
        self._client = httpx.Client(timeout=timeout_s, auth=(user, password) if user or password else None)
        self._id = 0

    def close(self) -> None:
        self._client.close()

    def _call(self, coin: str, method: str, params: list[Any]) -> Any:
        url = self._urls.get(coin.upper(), self._default)
        if not url:
            raise ChainUnavailable(f"no node URL for coin {coin!r}")
        self._id += 1
        try:
            response = self._client.post(url, json={"jsonrpc": "1.0", "id": self._id, "method": method,
                                                    "params": params})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChainUnavailable(f"{method} on the {coin} node failed: {exc}") from None
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            raise RpcError(int(error.get("code", 0)), str(error.get("message", "")))
        if response.status_code != 200 or not isinstance(body, dict):
            raise ChainUnavailable(f"{method} on the {coin} node: HTTP {response.status_code}")
        return body.get("result")

    def confirmations(self, coin: str, height: int, block_hash: str) -> int | None:
        try:
            main = self._call(coin, "getblockhash", [height])
        except RpcError as exc:
            if exc.code == NOT_FOUND:
                return 0  # the node has not reached that height (yet)
            raise
        if str(main).lower() != block_hash.lower():
            return None
        try:
            block = self._call(coin, "getblock", [block_hash, 1])
        except RpcError as exc:
            if exc.code == BLOCK_NOT_FOUND:
                return None
            raise
        confirmations = int(block.get("confirmations", -1)) if isinstance(block, dict) else -1
        return None if confirmations < 0 else confirmations
