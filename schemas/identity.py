"""What a well-formed miner address and worker name look like (one rule for kernels, gateway and API).

Addresses: 20-100 ASCII letters and digits — covers base58 (Bitcoin, Litecoin legacy), bech32 (bc1…,
ltc1…), hex with 0x (Ethereum-style, digits and letters only after the prefix is counted whole) and
Monero's 95-character base58. Worker names: 0-64 characters of letters, digits, `_`, `-` and `.`.
"""

from __future__ import annotations

import re

ADDRESS_MIN_LEN = 20
ADDRESS_MAX_LEN = 100
WORKER_MAX_LEN = 64

_ADDRESS = re.compile(rf"[A-Za-z0-9]{{{ADDRESS_MIN_LEN},{ADDRESS_MAX_LEN}}}")
_WORKER = re.compile(rf"[A-Za-z0-9_.\-]{{0,{WORKER_MAX_LEN}}}")


def valid_address(address: str) -> bool:
    return _ADDRESS.fullmatch(address) is not None


def valid_worker(worker: str) -> bool:
    return _WORKER.fullmatch(worker) is not None
