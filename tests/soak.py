"""Soak mode: `SMILETAP_SOAK=N` makes the fault, fuzz and load scenarios run N times longer."""

from __future__ import annotations

import os


def soak_factor() -> int:
    """How many times longer than the bounded CI form a scenario runs (1 in CI)."""
    return max(1, int(os.environ.get("SMILETAP_SOAK", "1")))
