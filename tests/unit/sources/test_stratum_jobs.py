"""Coinbase, merkle branch, Stratum encodings and the batch verifier's glue, checked with hashlib."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import random
from pathlib import Path

from schemas.algorithms import Algorithm
from schemas.clock import FixedClock
from sources.stratum import coinbase as cb
from sources.stratum.identity import Worker
from sources.stratum.jobbook import JobBook
from sources.stratum.jobs import CoinbasePolicy, build_job
from sources.stratum.settings import StratumSettings
from sources.stratum.template_source import TemplateJobSource
from sources.stratum.verifier import PendingSubmit, verify_batch

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "pow.json").read_text())
POLICY = CoinbasePolicy(4, 4, b"/poolstream/", bytes.fromhex("0014" + "00" * 20))
CLOCK = FixedClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def test_block_125552_in_stratum_fields() -> None:
    v = VECTORS["stratum_encoding"][0]
    raw = bytes.fromhex(v["header_hex"])
    assert cb.swap_words(raw[4:36]).hex() == v["stratum_prevhash"]
    assert cb.swap_words(bytes.fromhex(v["stratum_prevhash"])) == raw[4:36]
    header = cb.header(int(v["version"], 16), raw[4:36], bytes.fromhex(v["merkle_root_raw"]),
                       int(v["ntime"], 16), int(v["nbits"], 16), int(v["submit_nonce"], 16))  # fmt: skip
    assert header == raw
    assert sha256d(header)[::-1].hex() == v["hash_display"]


def naive_root(leaves: list[bytes]) -> bytes:
    while len(leaves) > 1:
        if len(leaves) % 2:
            leaves = [*leaves, leaves[-1]]
        leaves = [sha256d(leaves[i] + leaves[i + 1]) for i in range(0, len(leaves), 2)]
    return leaves[0]


def test_merkle_branch_folds_to_the_tree_root() -> None:
    rng = random.Random(3)
    for n in range(0, 12):
        txids = [rng.randbytes(32) for _ in range(n)]
        coinbase_hash = rng.randbytes(32)
        assert cb.merkle_root(coinbase_hash, cb.merkle_branch(txids)) == naive_root([coinbase_hash, *txids])


def test_height_push_bip34() -> None:
    assert cb.height_push(840_000) == bytes([3]) + (840_000).to_bytes(3, "little")
    assert cb.height_push(128) == bytes([2, 0x80, 0x00])  # sign bit forces an extra byte
    assert cb.height_push(16) == b"\x60" and cb.height_push(0) == b"\x00"
    assert cb.script_number(-1) == b"\x81"


def test_coinbase_is_a_well_formed_transaction() -> None:
    coinb1, coinb2 = cb.split_coinbase(840_000, 8, b"/poolstream/", [(312_500_000, b"\x51")])
    tx = coinb1 + bytes(range(8)) + coinb2
    assert tx[:4] == (1).to_bytes(4, "little") and tx[4] == 1 and tx[5:37] == b"\x00" * 32
    script_len = tx[41]
    script = tx[42 : 42 + script_len]
    assert script.startswith(cb.height_push(840_000)) and script.endswith(b"/poolstream/")
    rest = tx[42 + script_len :]
    assert rest[:4] == b"\xff\xff\xff\xff" and rest[4] == 1
    assert int.from_bytes(rest[5:13], "little") == 312_500_000 and rest[13:15] == b"\x01\x51"
    assert rest[15:] == b"\x00" * 4


def test_jobbook_refresh_clean_and_stale() -> None:
    src = TemplateJobSource(StratumSettings(), CLOCK)
    book = JobBook(POLICY, jobs_kept=3, refresh_s=30)
    t = asyncio.run(src.template(Algorithm.SHA256D))
    first = book.offer(t, now=0.0)
    assert first is not None and first.clean
    assert book.offer(t, now=10.0) is None
    second = book.offer(t, now=31.0)
    assert second is not None and not second.clean and book.get(first.job_id) is first
    asyncio.run(src.submit_block(t, "", b"\x11" * 32))  # a block moves the tip
    t2 = asyncio.run(src.template(Algorithm.SHA256D))
    third = book.offer(t2, now=32.0)
    assert third is not None and third.clean and third.template.height == t.height + 1
    assert book.get(first.job_id) is None and book.is_retired(first.job_id)
    assert third.prevhash_stratum == cb.swap_words(b"\x11" * 32)


def test_verify_batch_matches_hashlib() -> None:
    rng = random.Random(5)
    src = TemplateJobSource(StratumSettings(), CLOCK)
    for alg, name in ((Algorithm.SHA256D, "sha256d"), (Algorithm.SCRYPT, "scrypt")):
        t = asyncio.run(src.template(alg))
        jobs = [build_job(f"j{i}", t, POLICY, t.curtime + i, i == 0, 0.0) for i in range(3)]
        items, limits = [], []
        for i in range(40 if alg is Algorithm.SHA256D else 8):
            job = jobs[i % 3]
            target = rng.choice([1 << 255, 1 << 250, (1 << 256) - 1, 1 << 100])
            items.append(PendingSubmit(None, i, job, rng.randbytes(4), rng.randbytes(4), job.ntime + i,
                                       rng.getrandbits(32), target.to_bytes(32, "little"), 1.0, 0, 1.0,
                                       Worker("m", "w", "BTC", 0), 0.0))  # fmt: skip
            limits.append(target)
        res = verify_batch(name, items)
        for i, it in enumerate(items):
            header = it.job.header(it.extranonce1, it.extranonce2, it.ntime, it.nonce)
            assert res.headers[i].tobytes() == header
            if alg is Algorithm.SCRYPT:
                expect = hashlib.scrypt(header, salt=header, n=1024, r=1, p=1, dklen=32)
            else:
                expect = sha256d(header)
            assert res.hashes[i].tobytes() == expect
            value = int.from_bytes(expect, "little")
            assert res.share_ok[i] == (value <= limits[i])
            assert res.block_ok[i] == (value <= it.job.network_target)
