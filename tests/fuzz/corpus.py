"""Hostile and good messages for `shares`, `blocks` and `telemetry`, from a seed (issue 7, "fuzzed topics").

`Corpus(seed).messages(hostile)` yields `hostile` hostile messages spread over the three topics, with a good
message interleaved every `good_every`. Each message says what the pipeline must do with it (`Expect`):

* `RAW`  — undecodable: the whole message in `<topic>.rejected`, once, with a `reason` header;
* `ROWS` — decodes, but every event in it fails a check: `rows` rows in `<topic>.rejected` (Arrow, with
  their `status`), none stored as accepted (the `shares` table keeps rejected shares with their status);
* `GOOD` — `rows` events stored exactly once (good events are unique: no duplicate of another).

The hostile kinds: empty and null values, whitespace, random bytes, Arrow magic followed by garbage, JSON
that is truncated, not UTF-8, of the wrong shape/type/version, nested 1,100-100,000 deep ("JSON bombs",
also inside an ignored field), huge numbers (2**64, 1e308, int64 max), NaN and infinities (Arrow), values
out of range, arrays of scalars, a big array with one bad element, Arrow streams truncated, of another
schema or type or version, ZSTD-compressed (how a decompression bomb comes), with nulls or invalid UTF-8, with too
many batches, and ~10 MB messages (capped in number: `big_every`). Generation is lazy and deterministic for a
seed, given the clock (`now_ms`: event times must be near the Kafka message time).
"""

from __future__ import annotations

import enum
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from schemas.share import SHARE_SCHEMA, Share, encode_arrow, encode_json, shares_to_batch
from schemas.telemetry import TELEMETRY_SCHEMA, TelemetryReading, encode_telemetry, readings_to_batch
from schemas.telemetry import encode_arrow as encode_telemetry_arrow

TOPICS = ("shares", "blocks", "telemetry")
MINERS = tuple(f"bc1qfuzz{i:02d}miner000000000000000000000000{i:02d}" for i in range(8))
BIG = 10 * 1024 * 1024
HOUR_MS = 3_600_000


class Expect(enum.IntEnum):
    GOOD = 0
    RAW = 1
    ROWS = 2


@dataclass(frozen=True)
class FuzzMessage:
    topic: str  # base name: shares, blocks or telemetry
    kind: str
    value: bytes | None  # None: a null value (tombstone)
    expect: Expect
    rows: int = 0  # GOOD: events to store; ROWS: rows to dead-letter
    key: bytes | None = None
    block_hash: str = ""  # GOOD blocks: the hash to find in the table


def ipc(schema: pa.Schema, *batches: pa.RecordBatch, compression: str | None = None) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def replace_column(batch: pa.RecordBatch, name: str, values: list[object]) -> pa.RecordBatch:
    field = batch.schema.field(name)
    column = pa.array(values, type=field.type)
    arrays = [column if f.name == name else batch.column(f.name) for f in batch.schema]
    schema = pa.schema([f.with_nullable(True) if f.name == name else f for f in batch.schema],
                       metadata=batch.schema.metadata) if column.null_count else batch.schema
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def not_utf8(batch: pa.RecordBatch, name: str) -> pa.RecordBatch:
    column = batch.column(name)
    validity, offsets, data = column.buffers()
    broken = bytearray(data.to_pybytes())
    broken[0] = 0xFF
    bad = pa.Array.from_buffers(pa.string(), len(column), [validity, offsets, pa.py_buffer(bytes(broken))])
    return pa.RecordBatch.from_arrays([bad if f.name == name else batch.column(f.name) for f in batch.schema],
                                      schema=batch.schema)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


class Corpus:
    def __init__(self, seed: int, now_ms: Callable[[], int] | None = None, *, good_every: int = 4,
                 big_every: int = 100_000) -> None:
        self.rng = random.Random(seed)
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self.good_every = good_every  # one good message after every `good_every` hostile ones
        self.big_every = big_every  # one ~10 MB message per `big_every` hostile ones (at least one per topic)
        self._serial = 0
        self._made: dict[str, bytes] = {}
        self._hostile: dict[str, list[Callable[[], FuzzMessage]]] = {
            "shares": self._hostile_shares(), "blocks": self._hostile_blocks(), "telemetry": self._hostile_telemetry()}
        self._good: dict[str, Callable[[], FuzzMessage]] = {
            "shares": self._good_share, "blocks": self._good_block, "telemetry": self._good_telemetry}

    # ---- the stream ---------------------------------------------------------------------------------------

    def messages(self, hostile: int) -> Iterator[FuzzMessage]:
        big_at = {topic: set(self.rng.sample(range(index, hostile, 3), min(len(range(index, hostile, 3)),
                                                                             max(1, hostile // (3 * self.big_every)))))
                  for index, topic in enumerate(TOPICS)}
        for i in range(hostile):
            topic = TOPICS[i % 3]
            if i in big_at[topic]:
                yield self._big(topic)
            else:
                yield self.rng.choice(self._hostile[topic])()
            if (i + 1) % self.good_every == 0:
                yield self._good[TOPICS[(i // self.good_every) % 3]]()

    def _once(self, name: str, make: Callable[[], bytes]) -> bytes:
        """A costly constant message, made once per corpus."""
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    # ---- events -------------------------------------------------------------------------------------------

    def share(self, **kw: object) -> Share:
        n = self.serial()
        base: dict[str, object] = dict(ts=self.now_ms() - 1_000, algorithm="sha256d", miner=MINERS[n % 8],
                                       worker=f"rig{n % 5}", difficulty=float(1 + n % 7), network_difficulty=1e12,
                                       job_id=f"j{n % 97}", extranonce2=f"{n:08x}", ntime=1_700_000_000,
                                       nonce=n & 0xFFFFFFFF, ip="10.0.0.1", hardware="asic", coin="BTC")
        base.update(kw)
        return Share(**base)  # type: ignore[arg-type]

    def reading(self, **kw: object) -> TelemetryReading:
        n = self.serial()
        base: dict[str, object] = dict(ts=self.now_ms() - 1_000, miner=MINERS[n % 8], worker=f"rig{n % 5}",
                                       device_class=("CPU", "GPU", "ASIC")[n % 3], device_id=f"d{n}", model="X1",
                                       hashrate=1e9 + n, temperature_c=40.0 + n % 50, fan_rpm=3000.0, fan_pct=50.0,
                                       power_w=250.0, hardware_errors=n % 3, uptime_s=n)
        base.update(kw)
        return TelemetryReading(**base)  # type: ignore[arg-type]

    def block(self, **kw: object) -> dict[str, object]:
        n = self.serial()
        base: dict[str, object] = dict(ts=self.now_ms(), algorithm="sha256d", height=800_000 + n,
                                       hash=hashlib.sha256(b"fuzz%d" % n).hexdigest(), miner=MINERS[n % 8],
                                       worker="rig1", coin="BTC", reward=312_500_000, network_difficulty=1e14,
                                       share_difficulty=1e14, status="found", job_id=f"j{n}", header_hex="00" * 80)
        base.update(kw)
        return base

    # ---- good ---------------------------------------------------------------------------------------------

    def _good_share(self) -> FuzzMessage:
        form = self.rng.choice(("json", "array", "arrow"))
        if form == "json":
            s = self.share()
            return FuzzMessage("shares", "good json", encode_json(s), Expect.GOOD, 1, s.miner.encode())
        shares = [self.share() for _ in range(self.rng.randint(2, 50))]
        value = (b"[" + b",".join(encode_json(s) for s in shares) + b"]" if form == "array"
                 else encode_arrow(shares_to_batch(shares)))
        return FuzzMessage("shares", f"good {form}", value, Expect.GOOD, len(shares), shares[0].miner.encode())

    def _good_block(self) -> FuzzMessage:
        b = self.block()
        return FuzzMessage("blocks", "good json", json.dumps(b).encode(), Expect.GOOD, 1, str(b["miner"]).encode(),
                           block_hash=str(b["hash"]))

    def _good_telemetry(self) -> FuzzMessage:
        form = self.rng.choice(("json", "array", "arrow"))
        if form == "json":
            r = self.reading()
            return FuzzMessage("telemetry", "good json", encode_telemetry(r), Expect.GOOD, 1, r.miner.encode())
        readings = [self.reading() for _ in range(self.rng.randint(2, 20))]
        value = (b"[" + b",".join(encode_telemetry(r) for r in readings) + b"]" if form == "array"
                 else encode_telemetry_arrow(readings_to_batch(readings)))
        return FuzzMessage("telemetry", f"good {form}", value, Expect.GOOD, len(readings), readings[0].miner.encode())

    # ---- hostile, every topic -----------------------------------------------------------------------------

    def _common(self, topic: str, valid: Callable[[], bytes]) -> list[Callable[[], FuzzMessage]]:
        def raw(kind: str, make: Callable[[], bytes | None]) -> Callable[[], FuzzMessage]:
            return lambda: FuzzMessage(topic, kind, make(), Expect.RAW)

        rng = self.rng
        return [
            raw("empty", lambda: b""),
            raw("null value", lambda: None),
            raw("whitespace", lambda: b" \n\t" * rng.randint(1, 100)),
            raw("random bytes", lambda: rng.randbytes(rng.randint(1, 512))),
            raw("arrow magic + garbage", lambda: b"\xff\xff\xff\xff" + rng.randbytes(rng.randint(0, 500))),
            raw("truncated json", lambda: (v := valid())[: rng.randint(1, len(v) - 2)]),
            raw("not utf-8", lambda: valid().replace(b'"rig', b'"r\xff\xfeig', 1)),
            raw("json scalar", lambda: rng.choice([b"null", b"true", b"42", b'"share"', b"1e999"])),
            raw("array of scalars", lambda: b"[" + b",".join(b"1" for _ in range(rng.randint(1, 1_000))) + b"]"),
            # deeper than the recursion limit (1,000); kept small, the broker holds every message in memory
            raw("nested arrays", lambda: nested(rng.randint(1_100, 3_000))),
            raw("deep unknown field", lambda: valid()[:-1] + b',"x":' + deep_object(rng.randint(1_100, 3_000)) + b"}"),
            raw("deep array in a field", lambda: valid()[:-1] + b',"x":' + nested(rng.randint(1_100, 3_000)) + b"}"),
            raw("wrong version", lambda: valid()[:-1] + b',"v":' + str(rng.choice([0, 4, 99, -1])).encode() + b"}"),
        ]

    def _rare(self, topic: str, kinds: list[Callable[[], FuzzMessage]], weight: int
              ) -> list[Callable[[], FuzzMessage]]:
        """Heavier kinds: each kept once in `weight` draws (the others draw again from the topic's kinds)."""
        def thinned(make: Callable[[], FuzzMessage]) -> Callable[[], FuzzMessage]:
            return lambda: make() if self.rng.randrange(weight) == 0 else self.rng.choice(self._hostile[topic])()
        return [thinned(make) for make in kinds]

    # ---- hostile shares -----------------------------------------------------------------------------------

    def _hostile_shares(self) -> list[Callable[[], FuzzMessage]]:
        rng = self.rng

        def raw(kind: str, make: Callable[[], bytes]) -> Callable[[], FuzzMessage]:
            return lambda: FuzzMessage("shares", kind, make(), Expect.RAW)

        def rows(kind: str, make: Callable[[int], bytes]) -> Callable[[], FuzzMessage]:
            def build() -> FuzzMessage:
                n = rng.randint(1, 5)
                return FuzzMessage("shares", kind, make(n), Expect.ROWS, n)
            return build

        def json_share(**kw: object) -> bytes:
            fields = json.loads(encode_json(self.share()))
            fields.update(kw)
            return json.dumps(fields).encode()

        def arrow(n: int, **columns: list[object]) -> bytes:
            batch = shares_to_batch([self.share() for _ in range(n)])
            for name, values in columns.items():
                batch = replace_column(batch, name, values)
            return ipc(batch.schema, batch)

        def json_rows(n: int, **kw: object) -> bytes:
            return b"[" + b",".join(json_share(**kw) for _ in range(n)) + b"]"

        now = self.now_ms
        return [
            *self._common("shares", lambda: encode_json(self.share())),
            raw("empty array", lambda: b"[]"),
            raw("ts 2**64", lambda: json_share(ts=2**64)),
            raw("ts int64 max", lambda: json_share(ts=2**63 - 1)),
            raw("ts negative", lambda: json_share(ts=-rng.randint(1, 2**62))),
            raw("nonce 2**64", lambda: json_share(nonce=2**64)),
            raw("difficulty as text", lambda: json_share(difficulty="lots")),
            raw("infinite difficulty", lambda: json_share()[:-1] + b',"difficulty":1e999}'),
            raw("long job id", lambda: json_share(job_id="j" * rng.randint(257, 5_000))),
            raw("arrow truncated", lambda: (v := arrow(3))[: rng.randint(8, len(v) - 9)]),
            raw("arrow other schema", lambda: ipc(pa.schema([("x", pa.int64())]),
                                                  pa.RecordBatch.from_pydict({"x": [1, 2]}))),
            raw("arrow wrong type", lambda: ipc(pa.schema([pa.field(f.name, pa.float32() if f.name == "difficulty"
                                                                    else f.type, nullable=False)
                                                           for f in SHARE_SCHEMA]))),
            raw("arrow wrong version", lambda: self._once("shares v7", lambda: ipc(
                SHARE_SCHEMA.with_metadata({b"poolstream.version": b"7"}),
                shares_to_batch([self.share()]).replace_schema_metadata({b"poolstream.version": b"7"})))),
            raw("arrow no rows", lambda: ipc(SHARE_SCHEMA)),
            raw("arrow zstd", lambda: self._once("shares zstd", lambda: ipc(
                SHARE_SCHEMA, shares_to_batch([self.share()] * 500), compression="zstd"))),
            raw("arrow not utf-8", lambda: ipc(SHARE_SCHEMA, not_utf8(shares_to_batch([self.share()]), "job_id"))),
            raw("arrow null ts", lambda: arrow(2, ts=[None, now()])),
            raw("arrow ts out of range", lambda: arrow(2, ts=[2**62, 2**62])),
            *self._rare("shares", [
                raw("big array, one bad", lambda: b"[" + b",".join([encode_json(self.share())] * 5_000
                                                                  + [json_share(v=9)]) + b"]"),
                raw("arrow 1,100 batches", lambda: ipc(SHARE_SCHEMA, *[shares_to_batch([self.share()])] * 1_100)),
                raw("nested 100k", lambda: nested(100_000)),
            ], weight=50),
            rows("difficulty 1e308", lambda n: json_rows(n, difficulty=1e308)),
            rows("negative difficulty", lambda n: json_rows(n, difficulty=-1.0)),
            rows("arrow NaN difficulty", lambda n: arrow(n, difficulty=[float("nan")] * n)),
            rows("arrow inf network difficulty", lambda n: arrow(n, network_difficulty=[float("inf")] * n)),
            rows("arrow -1e308 network difficulty", lambda n: arrow(n, network_difficulty=[-1e308] * n)),
            rows("bad address", lambda n: json_rows(n, miner="not-an-address")),
            rows("unknown algorithm", lambda n: json_rows(n, algorithm="sha3")),
            rows("time skew", lambda n: json_rows(n, ts=now() - 3 * HOUR_MS)),
        ]

    # ---- hostile blocks -----------------------------------------------------------------------------------

    def _hostile_blocks(self) -> list[Callable[[], FuzzMessage]]:
        def raw(kind: str, **kw: object) -> Callable[[], FuzzMessage]:
            return lambda: FuzzMessage("blocks", kind, json.dumps(self.block(**kw)).encode(), Expect.RAW)

        return [
            *self._common("blocks", lambda: json.dumps(self.block()).encode()),
            lambda: FuzzMessage("blocks", "array", b"[" + json.dumps(self.block()).encode() + b"]", Expect.RAW),
            raw("height 2**64", height=2**64),
            raw("negative height", height=-1),
            raw("negative reward", reward=-1),
            raw("reward 2**64", reward=2**64),
            raw("float reward", reward=1.5),
            raw("ts out of range", ts=2**63 - 1),
            raw("difficulty 1e308", network_difficulty=1e308),
            raw("unknown status", status="maybe"),
            raw("bad hash", hash="not-a-hash"),
            raw("long job id", job_id="j" * 300),
            raw("height as text", height="tall"),
        ]

    # ---- hostile telemetry --------------------------------------------------------------------------------

    def _hostile_telemetry(self) -> list[Callable[[], FuzzMessage]]:
        rng = self.rng

        def raw(kind: str, make: Callable[[], bytes]) -> Callable[[], FuzzMessage]:
            return lambda: FuzzMessage("telemetry", kind, make(), Expect.RAW)

        def rows(kind: str, make: Callable[[int], bytes]) -> Callable[[], FuzzMessage]:
            def build() -> FuzzMessage:
                n = rng.randint(1, 5)
                return FuzzMessage("telemetry", kind, make(n), Expect.ROWS, n)
            return build

        def json_reading(**kw: object) -> bytes:
            fields = json.loads(encode_telemetry(self.reading()))
            fields.update(kw)
            return json.dumps(fields).encode()

        def json_rows(n: int, **kw: object) -> bytes:
            return b"[" + b",".join(json_reading(**kw) for _ in range(n)) + b"]"

        def arrow(n: int, **columns: list[object]) -> bytes:
            batch = readings_to_batch([self.reading() for _ in range(n)])
            for name, values in columns.items():
                batch = replace_column(batch, name, values)
            return ipc(batch.schema, batch)

        now = self.now_ms
        return [
            *self._common("telemetry", lambda: encode_telemetry(self.reading())),
            raw("empty array", lambda: b"[]"),
            raw("missing field", lambda: b'{"ts": %d, "miner": "%s"}' % (now(), MINERS[0].encode())),
            raw("uptime 2**64", lambda: json_reading(uptime_s=2**64)),
            raw("ts 2**64", lambda: json_reading(ts=2**64)),
            raw("temperature as text", lambda: json_reading(temperature_c="hot")),
            raw("long model", lambda: json_reading(model="m" * rng.randint(129, 5_000))),
            raw("arrow truncated", lambda: (v := arrow(2))[: rng.randint(8, len(v) - 9)]),
            raw("arrow share schema", lambda: encode_arrow(shares_to_batch([self.share()]))),
            raw("arrow zstd", lambda: self._once("telemetry zstd", lambda: ipc(
                TELEMETRY_SCHEMA, readings_to_batch([self.reading()] * 500), compression="zstd"))),
            raw("arrow null miner", lambda: arrow(2, miner=[MINERS[0], None])),
            raw("arrow no version", lambda: ipc(TELEMETRY_SCHEMA.remove_metadata(),
                                                readings_to_batch([self.reading()]).replace_schema_metadata())),
            raw("arrow not utf-8", lambda: ipc(TELEMETRY_SCHEMA, not_utf8(readings_to_batch([self.reading()]), "model"))),
            rows("temperature 400", lambda n: json_rows(n, temperature_c=400.0)),
            rows("temperature -273", lambda n: json_rows(n, temperature_c=-273.15)),
            rows("negative power", lambda n: json_rows(n, power_w=-rng.uniform(0.1, 1e6))),
            rows("negative fan", lambda n: json_rows(n, fan_rpm=-1.0)),
            rows("hashrate 1e308", lambda n: json_rows(n, hashrate=1e308)),
            rows("errors int64 max", lambda n: json_rows(n, hardware_errors=2**63 - 1)),
            rows("bad device class", lambda n: json_rows(n, device_class=rng.choice(["TPU", "gpu", "", "ASIC "]))),
            rows("bad address", lambda n: json_rows(n, miner="x" * 10)),
            rows("time skew", lambda n: json_rows(n, ts=now() + 2 * HOUR_MS)),
            rows("arrow NaN temperature", lambda n: arrow(n, temperature_c=[float("nan")] * n)),
            rows("arrow inf voltage", lambda n: arrow(n, voltage=[float("-inf")] * n)),
        ]

    # ---- ~10 MB -------------------------------------------------------------------------------------------

    def _big(self, topic: str) -> FuzzMessage:
        size = BIG - self.rng.randint(0, 1_000)
        kind = self.rng.choice(("10 MB random bytes", "10 MB text field"))
        if kind == "10 MB random bytes":
            return FuzzMessage(topic, kind, self.rng.randbytes(size), Expect.RAW)
        text = "z" * size
        value = {
            "shares": lambda: encode_json(self.share(job_id=text)),
            "blocks": lambda: json.dumps(self.block(header_hex="ab" * (size // 2))).encode(),
            "telemetry": lambda: encode_telemetry(self.reading(model=text)),
        }[topic]()
        return FuzzMessage(topic, kind, value, Expect.RAW)
