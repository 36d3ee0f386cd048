"""Smiletap server."""

import os

# One BLAS thread for numpy (OpenBLAS reads this when numpy loads, so it is set before any
# module imports numpy). The server's vector work — the link report's correlation over
# 18,000 points, `scipy.stats.pearsonr` — is far too small to gain from threads, and
# OpenBLAS's spare threads spin after each call: on a busy 2-core machine that cost up to
# 17 ms of CPU per call, in spikes (0.2 ms with one thread). An operator's own value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
