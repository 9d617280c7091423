"""The Job event on the `jobs` topic: every job the Stratum gateway sent, enough to re-verify a share."""

from __future__ import annotations

import msgspec

JOB_VERSION = 1


class JobEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A job as published on the `jobs` topic (JSON), enough to re-verify any share submitted for it."""

    ts: int
    algorithm: str
    job_id: str
    height: int
    prevhash: str  # as sent in mining.notify
    coinb1: str
    coinb2: str
    merkle_branch: list[str]
    version: str
    nbits: str
    ntime: str
    clean_jobs: bool
    network_difficulty: float
    extranonce1_size: int
    extranonce2_size: int
    v: int = JOB_VERSION


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(JobEvent)


def encode_job_event(event: JobEvent) -> bytes:
    return _encoder.encode(event)


def decode_job_event(data: bytes) -> JobEvent:
    return _decoder.decode(data)
