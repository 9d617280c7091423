"""Block templates, the JobSource contract, and Stratum jobs built from a template.

A `JobSource` delivers `BlockTemplate`s (the chain tip and what to put in a block); a port's `JobBook`
turns each into a `Job` (coinb1/coinb2 around the extranonces, merkle branch, Stratum-encoded prevhash)
and its `JobLoop` broadcasts it with `mining.notify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from kernels.targets import difficulty_from_nbits, nbits_to_target
from schemas.algorithms import Algorithm
from schemas.job import JobEvent, encode_job_event
from sources.stratum import coinbase as cb


@dataclass(frozen=True)
class BlockTemplate:
    """What a block on top of the current tip must contain. Hashes are raw (internal byte order)."""

    algorithm: Algorithm
    height: int
    prevhash: bytes  # 32 bytes as in the header
    version: int
    nbits: int
    curtime: int
    coinbase_value: int  # base units
    txids: tuple[bytes, ...] = ()  # non-coinbase transactions, in block order
    tx_data: tuple[str, ...] = ()  # their serialized hex, for submitblock (real node only)
    witness_commitment: bytes = b""  # script of the witness commitment output, if the node asks for one


class JobSource(Protocol):
    """Where templates come from: a generator (default) or a real node's `getblocktemplate`
    (`job_sources.job_source_for` picks one from settings)."""

    async def template(self, algorithm: Algorithm) -> BlockTemplate:
        """The template to mine on now (called every `template_poll_s`; cheap if nothing changed)."""
        ...

    async def submit_block(self, template: BlockTemplate, block_hex: str, block_hash: bytes) -> bool:
        """Hand a solved block to the network; True if it was accepted."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class CoinbasePolicy:
    """How the gateway builds coinbases: extranonce sizes, tag and the payout output script."""

    extranonce1_size: int
    extranonce2_size: int
    tag: bytes
    script: bytes


@dataclass(eq=False)
class Job:
    """One `mining.notify` worth of work, plus what verification needs. `seen` catches duplicate submits."""

    job_id: str
    template: BlockTemplate
    coinb1: bytes
    coinb2: bytes
    branch: tuple[bytes, ...]
    prevhash_stratum: bytes
    ntime: int
    clean: bool
    network_target: int
    network_difficulty: float
    created: float  # loop time
    branch_array: NDArray[np.uint8] = field(init=False)
    seen: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        arr = np.frombuffer(b"".join(self.branch), dtype=np.uint8)
        self.branch_array = arr.reshape(len(self.branch), 32)

    @property
    def algorithm(self) -> Algorithm:
        return self.template.algorithm

    def notify_params(self, clean: bool) -> list[Any]:
        t = self.template
        return [
            self.job_id,
            self.prevhash_stratum.hex(),
            self.coinb1.hex(),
            self.coinb2.hex(),
            [b.hex() for b in self.branch],
            f"{t.version:08x}",
            f"{t.nbits:08x}",
            f"{self.ntime:08x}",
            clean,
        ]

    def coinbase(self, extranonce1: bytes, extranonce2: bytes) -> bytes:
        return self.coinb1 + extranonce1 + extranonce2 + self.coinb2

    def header(self, extranonce1: bytes, extranonce2: bytes, ntime: int, nonce: int) -> bytes:
        root = cb.merkle_root(cb.sha256d(self.coinbase(extranonce1, extranonce2)), self.branch)
        t = self.template
        return cb.header(t.version, t.prevhash, root, ntime, t.nbits, nonce)


def build_job(
    job_id: str, template: BlockTemplate, policy: CoinbasePolicy, ntime: int, clean: bool, now: float
) -> Job:
    outputs: list[tuple[int, bytes]] = [(template.coinbase_value, policy.script)]
    if template.witness_commitment:
        outputs.append((0, template.witness_commitment))
    coinb1, coinb2 = cb.split_coinbase(
        template.height, policy.extranonce1_size + policy.extranonce2_size, policy.tag, outputs
    )
    target = nbits_to_target(template.nbits)
    return Job(
        job_id=job_id,
        template=template,
        coinb1=coinb1,
        coinb2=coinb2,
        branch=tuple(cb.merkle_branch(template.txids)),
        prevhash_stratum=cb.swap_words(template.prevhash),
        ntime=ntime,
        clean=clean,
        network_target=target,
        network_difficulty=difficulty_from_nbits(template.nbits, template.algorithm.wire),
        created=now,
    )


def encode_job(job: Job, ts_ms: int, policy: CoinbasePolicy) -> bytes:
    p = job.notify_params(job.clean)
    return encode_job_event(
        JobEvent(
            ts=ts_ms, algorithm=job.algorithm.wire, job_id=job.job_id, height=job.template.height,
            prevhash=p[1], coinb1=p[2], coinb2=p[3], merkle_branch=p[4], version=p[5], nbits=p[6],
            ntime=p[7], clean_jobs=job.clean, network_difficulty=job.network_difficulty,
            extranonce1_size=policy.extranonce1_size, extranonce2_size=policy.extranonce2_size,
        )
    )
