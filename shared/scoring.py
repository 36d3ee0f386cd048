"""Scores and their 95 % intervals, computed from counts per answer value.

Every function takes `counts`, a mapping of answer value to how many answers gave it, so the
server can feed it straight from its rollups and tests can feed it hand-worked tallies.
The formulas are the ones DESIGN.md names; results are percentages rounded to one decimal
(the CES mean to two). A function returns None when there are no answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Z95 = 1.96  # DESIGN.md fixes 1.96, so hand-worked numbers match exactly

Counts = Mapping[int, int]


@dataclass(frozen=True)
class Nps:
    score: float
    ci95: tuple[float, float]
    promoters: int
    passives: int
    detractors: int
    n: int


@dataclass(frozen=True)
class Share:
    """A percentage of n with its Wilson interval (CSAT)."""

    score: float
    ci95: tuple[float, float]
    n: int


@dataclass(frozen=True)
class Ces:
    mean: float
    mean_ci95: tuple[float, float]
    easy_share: float
    n: int
    scale: int


@dataclass(frozen=True)
class Smiley:
    scale: int
    counts: list[int]
    positive_share: float
    ci95: tuple[float, float]
    n: int


def _total(counts: Counts) -> int:
    return sum(counts.values())


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def nps_score(promoters: int, detractors: int, n: int) -> float:
    """The NPS headline: % promoters − % detractors of n answers (n > 0)."""
    return _pct((promoters - detractors) / n)


def share_score(successes: int, n: int) -> float:
    """The headline of a share score (CSAT, smiley): % of n answers (n > 0)."""
    return _pct(successes / n)


def mean_score(total: int, n: int) -> float:
    """The CES headline: the mean answer, from the sum of n answers (n > 0)."""
    return round(total / n, 2)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, as fractions in [0, 1]."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 or k = n, rounding error can leave an end a hair past p (2.8e-17 for 0/11):
    # the interval must still contain the estimate it is reported beside.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def nps(counts: Counts) -> Nps | None:
    """Net Promoter Score with the adjusted Wald interval (add 3 to n, ¾ to P and to D)."""
    n = _total(counts)
    if n == 0:
        return None
    promoters = sum(c for v, c in counts.items() if v >= 9)
    detractors = sum(c for v, c in counts.items() if v <= 6)
    passives = n - promoters - detractors
    n_adj = n + 3
    p = (promoters + 0.75) / n_adj
    d = (detractors + 0.75) / n_adj
    diff = p - d
    half = Z95 * math.sqrt(max(0.0, p + d - diff * diff) / n_adj)
    low = max(-1.0, diff - half)
    high = min(1.0, diff + half)
    return Nps(
        score=nps_score(promoters, detractors, n),
        ci95=(_pct(low), _pct(high)),
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        n=n,
    )


def csat(counts: Counts) -> Share | None:
    """CSAT: share of answers 4–5 on the 1..5 scale, Wilson interval."""
    n = _total(counts)
    if n == 0:
        return None
    satisfied = sum(c for v, c in counts.items() if v >= 4)
    low, high = wilson_interval(satisfied, n)
    return Share(score=share_score(satisfied, n), ci95=(_pct(low), _pct(high)), n=n)


def _easy_from(scale: int) -> int:
    return 5 if scale == 7 else 4


def ces(counts: Counts, scale: int) -> Ces | None:
    """CES: mean ± 1.96·sd/√n (sample sd), clipped to the scale, and the easy share.

    With a single answer the spread is unknown, so the interval is the whole scale.
    """
    n = _total(counts)
    if n == 0:
        return None
    total = sum(v * c for v, c in counts.items())
    mean = total / n
    if n > 1:
        variance = sum(c * (v - mean) ** 2 for v, c in counts.items()) / (n - 1)
        half = Z95 * math.sqrt(variance) / math.sqrt(n)
        low, high = max(1.0, mean - half), min(float(scale), mean + half)
    else:
        low, high = 1.0, float(scale)
    easy = sum(c for v, c in counts.items() if v >= _easy_from(scale))
    return Ces(
        mean=mean_score(total, n),
        mean_ci95=(round(low, 2), round(high, 2)),
        easy_share=_pct(easy / n),
        n=n,
        scale=scale,
    )


def smiley(counts: Counts, scale: int) -> Smiley | None:
    """Smiley: counts per face and the share in the upper half, Wilson interval.

    The middle face of an odd scale is neutral: it counts in n but not as positive.
    """
    n = _total(counts)
    if n == 0:
        return None
    positive = sum(c for v, c in counts.items() if 2 * v > scale + 1)
    low, high = wilson_interval(positive, n)
    return Smiley(
        scale=scale,
        counts=[counts.get(v, 0) for v in range(1, scale + 1)],
        positive_share=share_score(positive, n),
        ci95=(_pct(low), _pct(high)),
        n=n,
    )


def is_unhappy(kind: str, scale: int, value: int) -> bool:
    """Whether an answer counts as unhappy (NPS detractor, bottom half of the other scales)."""
    if kind == "nps":
        return value <= 6
    return 2 * value < scale + 1


def is_happy(kind: str, scale: int, value: int) -> bool:
    """Whether an answer counts toward the good share (NPS promoter, CSAT 4–5, easy CES,
    upper-half smiley): the same cut-offs the scores above use."""
    if kind == "nps":
        return value >= 9
    if kind == "csat":
        return value >= 4
    if kind == "ces":
        return value >= _easy_from(scale)
    return 2 * value > scale + 1


def clear_move(now: tuple[float, float], before: tuple[float, float]) -> int:
    """+1 when the interval `now` lies wholly above `before`, -1 wholly below, else 0.

    Two 95 % intervals that do not overlap is a conservative test of a real difference: the
    drop alert and the chain overview's "moved clearly" both use it.
    """
    if now[0] > before[1]:
        return 1
    if now[1] < before[0]:
        return -1
    return 0
