"""`python -m bench [pipeline|naive|pow|stratum|abuse|api|rewards|tax|telemetry|all] [--seconds N] ...`: run the benches and print a summary.

Progress goes to stderr; the figures and a final Markdown summary (with the machine it ran on) go to stdout.
The default (`all`, `make bench`) takes about four minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from bench import pipeline

PARTS = ("pipeline", "naive", "pow", "stratum", "abuse", "api", "rewards", "tax", "telemetry", "all")


def machine() -> dict[str, str]:
    """Cores, CPU model, RAM and Python version of this machine."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count() or 0),
        "cpu": model,
        "ram": ram,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", default="all", choices=PARTS, help="what to run (default: all)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="load per pipeline run (default 60 arrow, 25 json), per pow / stratum figure set "
                             "(default 4 / 5), per abuse scenario (default 5)")
    parser.add_argument("--encoding", choices=("arrow", "json", "both"), default="both",
                        help="pipeline: which encoding(s) (default both)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="pipeline: offered shares/s of the latency phase (default 80%% of the measured capacity)")
    parser.add_argument("--shares-per-message", type=int, default=5000, help="pipeline, arrow: shares per message")
    parser.add_argument("--miners", type=int, default=100, help="pipeline: simulated miners")
    parser.add_argument("--workers", type=int, default=100, help="pipeline: workers per miner")
    parser.add_argument("--shares", type=int, default=10_000_000, help="api: shares stored before the API is measured")
    parser.add_argument("--rounds", type=int, default=3,
                        help="abuse: rounds of every scenario; each row is the median over them (default 3)")
    parser.add_argument("--nice", type=int, default=0,
                        help="abuse: nice level of the bench's processes (e.g. -10, needs root) so that other "
                             "load on a shared machine disturbs the comparison less")
    return parser.parse_args(argv)


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    began = time.monotonic()
    results: list[pipeline.PipelineResult] = []
    pow_figures: dict[str, float] = {}
    stratum_figures: dict[str, float] = {}
    abuse_figures: dict[str, float] = {}
    api_figures: dict[str, float] = {}
    rewards_figures: dict[str, float] = {}
    tax_figures: dict[str, float] = {}
    telemetry_figures: dict[str, float] = {}
    naive_figures: dict[str, float] = {}
    host = machine()
    print(f"machine: {host['cores']} cores, {host['cpu']}, {host['ram']} RAM, Python {host['python']}, {host['os']}")
    sys.stdout.flush()

    if args.part in ("pipeline", "all"):
        encodings = ("arrow", "json") if args.encoding == "both" else (args.encoding,)
        for encoding in encodings:
            seconds = args.seconds if args.seconds is not None else (60.0 if encoding == "arrow" else 25.0)
            options = replace(pipeline.options_for(encoding, seconds, args.rate), miners=args.miners,
                              workers=args.workers, shares_per_message=args.shares_per_message)
            print(file=sys.stderr)
            results.append(pipeline.run(options))
    if args.part in ("naive", "all") or (args.part == "pipeline" and args.encoding != "arrow"):
        from bench import naive_faust

        print("bench: the naive Faust-tutorial app (the JSON path's reference)", file=sys.stderr, flush=True)
        naive_figures = naive_faust.run()
    if args.part in ("pow", "all"):
        from bench import pow as pow_bench

        print("bench: pow kernels", file=sys.stderr, flush=True)
        pow_figures = pow_bench.run(args.seconds if args.seconds is not None else 4.0)
        sys.stdout.flush()
    if args.part in ("stratum", "all"):
        from bench import stratum

        print("bench: stratum gateway", file=sys.stderr, flush=True)
        stratum_figures = stratum.run(args.seconds if args.seconds is not None else 5.0)
        sys.stdout.flush()
    if args.part in ("abuse", "all"):
        from bench import abuse

        print("bench: stratum abuse", file=sys.stderr, flush=True)
        abuse_figures = abuse.run(args.seconds if args.seconds is not None else 5.0, nice=args.nice,
                                  rounds=args.rounds)
        sys.stdout.flush()

    if args.part in ("api", "all"):
        from bench import api

        print(f"bench: API reads with {args.shares:,} shares stored", file=sys.stderr, flush=True)
        api_figures = api.run(args.shares, args.seconds if args.seconds is not None else 10.0)
        sys.stdout.flush()
    if args.part in ("rewards", "all"):
        from bench import rewards

        print("bench: reward splits", file=sys.stderr, flush=True)
        rewards_figures = rewards.run()
        sys.stdout.flush()
    if args.part in ("tax", "all"):
        from bench import tax_export

        print("bench: tax export", file=sys.stderr, flush=True)
        tax_figures = tax_export.run()
        sys.stdout.flush()
    if args.part in ("telemetry", "all"):
        from bench import telemetry

        print("bench: telemetry validation and rollup", file=sys.stderr, flush=True)
        telemetry_figures = telemetry.run()
        sys.stdout.flush()

    print()
    print("## Benchmark summary")
    print()
    print(f"Machine: {host['cores']} cores, {host['cpu']}, {host['ram']} RAM, Python {host['python']} "
          f"({host['os']}); `make bench` took {time.monotonic() - began:.0f} s.")
    print()
    print("| figure | value |")
    print("|---|---|")
    for r in results:
        what = f"{r.encoding}, {r.shares_per_message_avg:,.0f} share(s)/msg"
        print(f"| pipeline {what}: stored shares/s, simulator flat out (capacity) | {_fmt(r.capacity_stored_per_s)} |")
        print(f"| pipeline {what}: simulator produced meanwhile, shares/s | {_fmt(r.capacity_produced_per_s)} |")
        print(f"| pipeline {what}: stored shares/s, paced at {_fmt(r.offered_per_s)}/s | "
              f"{_fmt(r.latency_stored_per_s)} |")
        print(f"| pipeline {what}: share-to-queryable latency p50 / p99 (paced) | "
              f"{_fmt(r.latency.p50_ms)} ms / {_fmt(r.latency.p99_ms)} ms |")
        print(f"| pipeline {what}: every share stored exactly once | {'yes' if r.exact else 'NO'} |")
        u = r.capacity_usage
        print(f"| pipeline {what}: at capacity, agent thread in prepare / insert | "
              f"{u.get('agent_prepare', 0):.0%} / {u.get('agent_insert', 0):.0%} |")
        print(f"| pipeline {what}: at capacity, cores used by pipeline / simulator / broker / other processes | "
              f"{u.get('cpu_pipeline', 0):.2f} / {u.get('cpu_simulator', 0):.2f} / {u.get('cpu_broker', 0):.2f} / "
              f"{max(0.0, u.get('cpu_machine', 0) - u.get('cpu_pipeline', 0) - u.get('cpu_simulator', 0) - u.get('cpu_broker', 0)):.2f} |")
    naive = naive_figures.get("naive_faust_stored_per_s", float("nan"))
    if naive_figures:
        print(f"| naive Faust-tutorial app, json, 1 share/msg, per-event agent, 10k-row inserts: stored shares/s | "
              f"{_fmt(naive)} |")
        for r in results:
            if r.encoding == "json":
                print(f"| pipeline json / naive Faust-tutorial app | {r.capacity_stored_per_s / naive:.1f}x |")
    for name, value in pow_figures.items():
        if name != "threads":
            print(f"| pow {name}, per s | {_fmt(value)} |")
    for name, value in stratum_figures.items():
        print(f"| stratum {name} | {_fmt(value)} |")
    for name, value in abuse_figures.items():
        print(f"| stratum {name} | {value:,.1f} |")
    for name, value in api_figures.items():
        print(f"| api {name} | {value:,.2f} |")
    for name, value in rewards_figures.items():
        print(f"| rewards {name} | {value:,.1f} |")
    for name, value in tax_figures.items():
        print(f"| {name} | {value:,.1f} |")
    for name, value in telemetry_figures.items():
        print(f"| telemetry {name} | {_fmt(value)} |")
    return 0 if all(r.exact for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
