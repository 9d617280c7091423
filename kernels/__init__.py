"""numba kernels over numpy columns: share checks and the duplicate window, SHA256d/scrypt, targets, the Stratum header pipeline. Pure, no I/O."""
