"""Request timings shared by the benchmarks: p50 and p95 after one warm-up run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def p50_p95(
    request: Callable[[], object], runs: int, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float]:
    """p50 and p95 (ms) of `runs` calls of `request`, after one warm-up call, by `clock`
    (wall time; `time.process_time` for this process's CPU time).

    The warm-up fills the page cache and the server's caches, so it is not counted.
    """
    times = []
    for i in range(runs + 1):
        started = clock()
        request()
        elapsed = (clock() - started) * 1000
        if i:
            times.append(elapsed)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]
