"""Benchmarks of poolstream on real parts: `python -m bench [pipeline|pow|stratum|all]` (`make bench`).

`bench.pipeline` measures the share pipeline end to end (simulator -> embedded broker -> Faust agent ->
chDB: stored shares/s and share-to-queryable latency, Arrow and JSON encodings); `bench.pow` the
proof-of-work kernels; `bench.stratum` the Stratum gateway. `bench.__main__` runs them and prints a
summary for the README. Speed targets live here as figures, never in tests.
"""
