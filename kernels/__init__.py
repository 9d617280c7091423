"""numba kernels over numpy columns: share checks, SHA256d/scrypt, targets, aggregation. Pure, no I/O."""
