"""Turning rollup counts into PROTOCOL.md's score groups, with `shared.scoring`.

Rules a reader of a report should know:
- Answers of the same kind are pooled within a group (two smiley questions count together).
- A group whose smiley or CES answers came on different scales reports the scale with the
  most answers; answers on the other scales are left out of that kind's score.
- A group's `n` is the largest per-kind n in it: submissions usually answer one question, and
  the largest kind is the best stand-in for how many customers answered.
- `ranked` is whether n >= min_n.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from server.store.rollups import GROUP_COLUMNS
from shared import scoring

KEY_NAMES: dict[str, tuple[str, ...]] = {
    "location": ("location_id",),
    "touchpoint": ("location_id", "touchpoint_id"),
    "staff": ("location_id", "staff_id"),
    "day": ("location_id", "date"),
    "weekday_hour": ("location_id", "weekday", "hour"),
}


def _key_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if value == "":
        return None  # staff or touchpoint '' in rollups: none named
    return value


def majority_scale(n_by_scale: Mapping[int, int]) -> int:
    """The scale a kind's score is taken on: most answers wins; on a tie the larger scale, so
    the choice is deterministic."""
    return max(n_by_scale, key=lambda s: (n_by_scale[s], s))


#: Every answer value a question can have (`shared.survey.value_range`: NPS 0..10, the other
#: kinds 1..scale ≤ 7); count rows carry one count per value in this range.
VALUES = range(11)


def score_groups(rows: Sequence[Sequence[Any]], group_by: str, min_n: int) -> list[dict[str, Any]]:
    """One score group per key, in key order, from summed counts: each row is the group
    columns (`GROUP_COLUMNS[group_by]`), kind, scale, then the count of each value in
    `VALUES` (`rollups.count_rows`).

    Scored with numpy over all groups at once, each kind by the formulas of `shared.scoring`
    in the same order of operations (so the same floats), then rounded by Python's `round`.
    """
    if not rows:
        return []
    width = len(GROUP_COLUMNS[group_by])
    index: dict[tuple[Any, ...], int] = {}
    keys = [tuple(row[:width]) for row in rows]
    for key in keys:
        index.setdefault(key, len(index))
    size = len(index)
    gid = np.fromiter(map(index.__getitem__, keys), np.intp, len(keys))
    kinds = np.array([row[width] for row in rows])
    scales = np.fromiter((row[width + 1] for row in rows), np.int64, len(rows))
    by_value = np.fromiter(
        itertools.chain.from_iterable(row[width + 2 :] for row in rows),
        np.int64,
        len(rows) * len(VALUES),
    ).reshape(len(rows), len(VALUES))
    kind_n = np.zeros(size, np.int64)
    scored: dict[str, list[Any]] = {}
    for kind in _SCORERS:
        of_kind = kinds == kind
        if of_kind.any():
            tally = _tally(gid[of_kind], scales[of_kind], by_value[of_kind], size)
            scored[kind] = _SCORERS[kind](tally)
            kind_n = np.maximum(kind_n, tally.n)
    keys_of = list(index)
    order = sorted(range(size), key=lambda g: tuple(map(str, keys_of[g])))
    names = KEY_NAMES[group_by]
    n_of = kind_n.tolist()
    none = [None] * size
    return [
        {
            "key": dict(zip(names, map(_key_value, keys_of[g]), strict=True)),
            "n": n_of[g],
            "ranked": n_of[g] >= min_n,
            "nps": nps[g],
            "csat": csat[g],
            "ces": ces[g],
            "smiley": smiley[g],
        }
        for nps, csat, ces, smiley in [[scored.get(kind, none) for kind in _SCORERS]]
        for g in order
    ]


@dataclasses.dataclass
class _Tally:
    """One kind's counts over all groups, on each group's majority scale."""

    n: np.ndarray  # per group: answers on its majority scale (0: none of this kind)
    scale: np.ndarray  # per group: its majority scale
    low: int  # the value of column 0 of `counts`
    counts: np.ndarray  # per group and value (column v - low)

    def where(self, chosen: np.ndarray) -> np.ndarray:
        """Per group, the answers whose value satisfies `chosen` (a group × value mask)."""
        total: np.ndarray = (self.counts * chosen).sum(axis=1)
        return total

    def value_grid(self) -> np.ndarray:
        """A group × value array of each column's value."""
        grid: np.ndarray = np.broadcast_to(
            np.arange(self.low, self.low + self.counts.shape[1]), self.counts.shape
        )
        return grid


def _tally(gid: np.ndarray, scale: np.ndarray, by_value: np.ndarray, size: int) -> _Tally:
    """Pool one kind's rows per group on the group's majority scale."""
    scales = np.unique(scale)
    if len(scales) == 1:
        chosen = np.full(size, scales[0])
    else:
        by_scale = np.zeros((size, len(scales)), np.int64)
        np.add.at(by_scale, (gid, np.searchsorted(scales, scale)), by_value.sum(axis=1))
        # Most answers wins; on a tie the larger scale (`majority_scale`): argmax takes the
        # first maximum, so look from the largest scale down.
        chosen = scales[len(scales) - 1 - np.argmax(by_scale[:, ::-1], axis=1)]
    kept = scale == chosen[gid]
    counts = np.zeros((size, len(VALUES)), np.int64)
    np.add.at(counts, gid[kept], by_value[kept])
    return _Tally(counts.sum(axis=1), chosen, VALUES.start, counts)


def _min(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's min(a, b) elementwise: a unless b < a (so a signed zero stays as Python has it)."""
    found: np.ndarray = np.where(np.less(b, a), b, a)
    return found


def _max(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's max(a, b) elementwise: a unless b > a."""
    found: np.ndarray = np.where(np.greater(b, a), b, a)
    return found


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return [round(v, digits) for v in values.tolist()]


def _pcts(values: np.ndarray) -> list[float]:
    """`shared.scoring._pct` of each value."""
    return _rounded(100.0 * values, 1)


def _wilson(successes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`scoring.wilson_interval` for each group with n > 0 (the others come out as NaN)."""
    z = scoring.Z95
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return _max(0.0, _min(p, centre - half)), _min(1.0, _max(p, centre + half))


def _score_nps(t: _Tally) -> list[dict[str, Any] | None]:
    grid = t.value_grid()
    promoters, detractors = t.where(grid >= 9), t.where(grid <= 6)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_adj = t.n + 3
        p = (promoters + 0.75) / n_adj
        d = (detractors + 0.75) / n_adj
        diff = p - d
        half = scoring.Z95 * np.sqrt(_max(0.0, p + d - diff * diff) / n_adj)
        score = _pcts((promoters - detractors) / t.n)
    low, high = _pcts(_max(-1.0, diff - half)), _pcts(_min(1.0, diff + half))
    good, bad = promoters.tolist(), detractors.tolist()
    return [
        {
            "score": score[g],
            "ci95": (low[g], high[g]),
            "promoters": good[g],
            "passives": n - good[g] - bad[g],
            "detractors": bad[g],
            "n": n,
        }
        if n
        else None
        for g, n in enumerate(t.n.tolist())
    ]


def _score_csat(t: _Tally) -> list[dict[str, Any] | None]:
    satisfied = t.where(t.value_grid() >= 4)
    low, high = (_pcts(end) for end in _wilson(satisfied, t.n))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = _pcts(satisfied / t.n)
    return [
        {"score": score[g], "ci95": (low[g], high[g]), "n": n} if n else None
        for g, n in enumerate(t.n.tolist())
    ]


def _score_ces(t: _Tally) -> list[dict[str, Any] | None]:
    grid = t.value_grid()
    total = t.where(grid)
    easy = t.where(grid >= np.where(t.scale == 7, 5, 4)[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / t.n
        # The sum over values in ascending order, as `scoring.ces` adds them.
        squares = np.zeros(len(t.n))
        for column, v in enumerate(range(t.low, t.low + t.counts.shape[1])):
            squares = squares + t.counts[:, column] * (v - mean) ** 2
        half = scoring.Z95 * np.sqrt(squares / (t.n - 1)) / np.sqrt(t.n)
        low = np.where(t.n > 1, _max(1.0, mean - half), 1.0)
        high = np.where(t.n > 1, _min(t.scale.astype(float), mean + half), t.scale)
        easy_share = _pcts(easy / t.n)
        mean_score = _rounded(mean, 2)
    low_r, high_r = _rounded(low, 2), _rounded(high, 2)
    scale = t.scale.tolist()
    return [
        {
            "mean": mean_score[g],
            "mean_ci95": (low_r[g], high_r[g]),
            "easy_share": easy_share[g],
            "n": n,
            "scale": scale[g],
        }
        if n
        else None
        for g, n in enumerate(t.n.tolist())
    ]


def _score_smiley(t: _Tally) -> list[dict[str, Any] | None]:
    positive = t.where(2 * t.value_grid() > (t.scale + 1)[:, None])
    low, high = (_pcts(end) for end in _wilson(positive, t.n))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = _pcts(positive / t.n)
    scale = t.scale.tolist()
    by_value = t.counts.tolist()
    first = 1 - t.low  # the column of value 1
    return [
        {
            "scale": scale[g],
            "counts": by_value[g][first : first + scale[g]],
            "positive_share": share[g],
            "ci95": (low[g], high[g]),
            "n": n,
        }
        if n
        else None
        for g, n in enumerate(t.n.tolist())
    ]


_SCORERS = {"nps": _score_nps, "csat": _score_csat, "ces": _score_ces, "smiley": _score_smiley}


def build_groups(
    rows: Iterable[Mapping[str, Any]], group_by: str, min_n: int
) -> list[dict[str, Any]]:
    """`score_groups` of rows given as mappings of the group columns, kind, scale, value and n
    (`rollups.counts`)."""
    names = (*GROUP_COLUMNS[group_by], "kind", "scale")
    pivoted: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        if row["value"] not in VALUES:
            raise ValueError(f"answer value {row['value']} is outside {VALUES}")
        key = tuple(row[name] for name in names)
        pivoted.setdefault(key, [0] * len(VALUES))[row["value"] - VALUES.start] += int(row["n"])
    return score_groups([(*key, *n) for key, n in pivoted.items()], group_by, min_n)
