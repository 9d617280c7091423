"""`make soak` (`python -m bench.soak`): a long run at a steady share rate on the embedded default, showing
that the embedded broker's memory stays flat (it is recycled once its content is consumed) and that every
share is stored exactly once.

`poolstream run` (its own temporary directory, free ports, no Stratum) and `poolstream simulate --realtime`
(a fleet sized for `--rate` shares/s: each worker submits about one share per 10 s) run as a user runs them.
Every `--sample-s` the broker's resident memory, its recycles and the stored count are printed; at the end a
summary: produced, stored, lost, doubled, memory per window, recycles and the longest producer pause.
Exit status 1 if a share was lost or doubled, or memory was not flat (the second half's peak more than 10%
above the first half's).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bus import broker_stats
from tests.e2e.harness import System

SHARE_INTERVAL_S = 10.0  # the simulator's target seconds between a worker's shares
WORKERS = 10


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the fleet streams (default 30)")
    parser.add_argument("--rate", type=float, default=100_000.0, help="shares/s the fleet produces (default 100k)")
    parser.add_argument("--recycle-mb", type=int, default=512, help="EMBEDDED_BROKER_RECYCLE_MB (default 512)")
    parser.add_argument("--sample-s", type=float, default=15.0, help="seconds between samples (default 15)")
    parser.add_argument("--windows", type=int, default=6, help="memory summary windows (default 6)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    miners = max(1, math.ceil(args.rate * SHARE_INTERVAL_S / WORKERS))
    seconds = args.minutes * 60
    workdir = Path(tempfile.mkdtemp(prefix="poolstream-soak-"))
    system = System(workdir)
    system.env.update({"EMBEDDED_BROKER_DIR": str(system.broker_dir), "STRATUM_ENABLED": "false",
                       "EMBEDDED_BROKER_RECYCLE_MB": str(args.recycle_mb)})
    print(f"soak: {args.minutes:g} min at ~{args.rate:,.0f} shares/s ({miners:,} miners x {WORKERS} workers), "
          f"recycle at {args.recycle_mb} MiB; work dir {workdir}", file=sys.stderr, flush=True)
    samples: list[tuple[float, int, int, int]] = []  # (seconds, rss, recycles, stored)
    system.start(timeout=180)
    try:
        simulation = system.simulation("--miners", str(miners), "--workers", str(WORKERS), "--duration",
                                       str(seconds), "--realtime", "--seed", "5")
        began = time.monotonic()
        while simulation.proc.poll() is None:
            time.sleep(args.sample_s)
            stats = broker_stats.read(system.broker_dir)
            try:
                stored = int(system.data("/api/v1/stats")["shares_24h"]["accepted"])
            except (httpx.HTTPError, AssertionError) as exc:  # a busy API answers late: report, keep going
                print(f"soak: stats not read ({exc!r})", file=sys.stderr, flush=True)
                continue
            elapsed = time.monotonic() - began
            if stats is not None:
                samples.append((elapsed, stats.rss_bytes, stats.recycles, stored))
                print(f"soak: {elapsed:6.0f}s broker {stats.rss_bytes / 2**20:6.0f} MiB, {stats.recycles} recycles "
                      f"(last pause {stats.last_pause_s:.2f}s{', blocked: ' + stats.blocked if stats.blocked else ''}), "
                      f"stored {stored:,} ({stored / max(elapsed, 1):,.0f}/s)", file=sys.stderr, flush=True)
        report = simulation.report(timeout=120)
        produced = int(report["accepted_valid"])
        system.wait_for(lambda: int(system.data("/api/v1/stats")["shares_24h"]["accepted"]) >= produced, 600,
                        "every share to be stored")
        final = broker_stats.read(system.broker_dir)
        assert system.stop() == 0
        rows, distinct = system.clickhouse("SELECT count() FROM shares", "SELECT uniqExact(share_key) FROM shares")
    finally:
        system.close()
    return summary(args, produced, rows, distinct, samples, final)


def summary(args: argparse.Namespace, produced: int, rows: int, distinct: int,
            samples: list[tuple[float, int, int, int]], final: broker_stats.BrokerStats | None) -> int:
    seconds = args.minutes * 60
    print()
    print("## Soak summary")
    print()
    print(f"- {args.minutes:g} min, produced {produced:,} shares ({produced / seconds:,.0f}/s); stored {rows:,}, "
          f"lost {max(0, produced - rows):,}, doubled {rows - distinct:,}")
    if final is not None:
        print(f"- broker recycled {final.recycles} times at {args.recycle_mb} MiB; last producer pause "
              f"{final.last_pause_s:.2f} s; dropped unconsumed {final.dropped_unconsumed}")
    peaks = []
    width = seconds / args.windows
    for w in range(args.windows):
        window = [rss for t, rss, _r, _s in samples if w * width <= t < (w + 1) * width]
        if window:
            peaks.append(max(window))
            print(f"- minutes {w * width / 60:4.0f}-{(w + 1) * width / 60:<4.0f} broker memory min "
                  f"{min(window) / 2**20:,.0f} MiB, max {max(window) / 2**20:,.0f} MiB")
    half = len(peaks) // 2
    flat = half > 0 and max(peaks[half:]) <= 1.1 * max(peaks[:half])  # no growth from the first half on
    exact = rows == produced == distinct
    print(f"- memory flat: {'yes' if flat else 'NO'}; every share stored exactly once: {'yes' if exact else 'NO'}")
    return 0 if flat and exact else 1


if __name__ == "__main__":
    sys.exit(main())
