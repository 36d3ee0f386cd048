"""Turning rollup counts into PROTOCOL.md's score groups, with `shared.scoring`.

Rules a reader of a report should know:
- Answers of the same kind are pooled within a group (two smiley questions count together).
- A group whose smiley or CES answers came on different scales reports the scale with the
  most answers; answers on the other scales are left out of that kind's score.
- A group's `n` is the largest per-kind n in it: submissions usually answer one question, and
  the largest kind is the best stand-in for how many customers answered.
- `ranked` is whether n >= min_n.

Every group is scored at once with numpy (`_scored`): one array per score field over all
groups. `score_groups` turns the arrays into one dict per group (the dashboard, digests);
`groups_json` writes the same groups' JSON text straight from them, with no Python object per
group — a year of 50 locations by day is 18,000 groups, whose dicts cost several times what
reading their counts does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import orjson

from server.array_json import END, Coded, Parts, each, object_array, object_parts, pieced, texts
from server.store.rollups import GROUP_COLUMNS, CountColumns, key_ids
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

    Scored with numpy over all groups at once (`_scored`), each kind by the formulas of
    `shared.scoring` in the same order of operations (so the same floats), rounded as
    Python's `round` rounds.
    """
    scored = _scored(_columns(rows, group_by), group_by, min_n)
    if scored is None:
        return []
    names = KEY_NAMES[group_by]
    keys = zip(*(each(list(map(_key_value, found)), at) for found, at in scored.keys), strict=True)
    n_of, ranked = scored.n.tolist(), scored.ranked.tolist()
    kinds = [scored.kinds[kind].as_dicts() for kind in _SCORERS]
    return [
        {
            "key": dict(zip(names, key, strict=True)),
            "n": n_of[g],
            "ranked": ranked[g],
            **dict(zip(_SCORERS, found, strict=True)),
        }
        for g, (key, *found) in enumerate(zip(keys, *kinds, strict=True))
    ]


def groups_json(counted: CountColumns, group_by: str, min_n: int) -> bytes:
    """`score_groups` of the same counts (`rollups.count_columns`) as JSON text, byte for byte
    what orjson writes of it with sorted keys (`server.json_response`), made from the score
    arrays: numbers are written by orjson from whole arrays and the groups' text pieced
    together by joins."""
    scored = _scored(counted, group_by, min_n)
    if scored is None:
        return b"[]"
    keys: dict[str, Parts] = {
        name: [Coded([orjson.dumps(_key_value(value)) for value in found], at)]
        for name, (found, at) in zip(KEY_NAMES[group_by], scored.keys, strict=True)
    }
    fields: dict[str, Parts] = {
        "key": object_parts(keys),
        "n": [texts(scored.n)],
        "ranked": [Coded([b"false", b"true"], scored.ranked.astype(np.intp))],
    }
    for kind in _SCORERS:
        fields[kind] = scored.kinds[kind].json_parts()
    # Each group's text ends in a comma: the last one is cut.
    return b"[" + pieced(object_parts(fields), scored.size, b",")[:-1] + b"]"


@dataclasses.dataclass
class _Scored:
    """Every group's key and scores, as arrays over the groups in key order."""

    size: int
    #: Per group column (`GROUP_COLUMNS`): its distinct values as read, and each group's
    #: index among them.
    keys: list[tuple[list[Any], np.ndarray]]
    n: np.ndarray
    ranked: np.ndarray
    kinds: dict[str, _KindScores]  # by kind, in `_SCORERS` order


def _columns(rows: Sequence[Sequence[Any]], group_by: str) -> CountColumns:
    """`rollups.count_rows`' rows as `rollups.count_columns` gives them."""
    width = len(GROUP_COLUMNS[group_by])
    columns = list(zip(*rows, strict=True)) or [()] * (width + 2 + len(VALUES))
    return CountColumns(
        [list(column) for column in columns[:width]],
        list(columns[width]),
        np.array(columns[width + 1], np.int64),
        np.array(columns[width + 2 :], np.int64).T.reshape(len(rows), len(VALUES)),
    )


def _scored(counted: CountColumns, group_by: str, min_n: int) -> _Scored | None:
    """Score every group of the counts (see `score_groups`); None when there are none."""
    rows = len(counted.kinds)
    if not rows:
        return None
    gid, first, found = key_ids(counted.groups)
    size = len(first)
    keys = [(values, codes[first]) for values, codes in found]
    kind_names = list(dict.fromkeys(counted.kinds))
    kinds = np.fromiter(map(kind_names.index, counted.kinds), np.intp, rows)
    scales, by_value = counted.scales, counted.counts
    kind_n = np.zeros(size, np.int64)
    scored: dict[str, _KindScores] = {}
    for kind, scorer in _SCORERS.items():
        of_kind = kinds == (kind_names.index(kind) if kind in kind_names else -1)
        if of_kind.any():
            tally = _tally(gid[of_kind], scales[of_kind], by_value[of_kind], size)
            scored[kind] = scorer(tally)
            kind_n = np.maximum(kind_n, tally.n)
        else:
            scored[kind] = _KindScores(np.zeros(size, bool), {})
    return _Scored(size, keys, kind_n, kind_n >= min_n, scored)


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
    if np.bincount(gid[kept], minlength=size).max(initial=0) <= 1:  # a row per group at most
        counts[gid[kept]] = by_value[kept]
    else:
        np.add.at(counts, gid[kept], by_value[kept])
    return _Tally(counts.sum(axis=1), chosen, VALUES.start, counts)


@dataclasses.dataclass
class _Pair:
    """An interval per group: a tuple in `score_groups`, [low, high] in JSON."""

    low: np.ndarray
    high: np.ndarray


@dataclasses.dataclass
class _Lists:
    """A list of whole numbers per group: the first `lengths[g]` values of row g."""

    values: np.ndarray  # group × column
    lengths: np.ndarray


_Column = np.ndarray | _Pair | _Lists


@dataclasses.dataclass
class _KindScores:
    """One kind's score object per group, as one array per field (`shared.scoring`'s field
    names); a group without answers of the kind has None (null) instead."""

    present: np.ndarray  # per group: whether it has answers of this kind
    fields: dict[str, _Column]

    def as_dicts(self) -> list[dict[str, Any] | None]:
        names = list(self.fields)
        values = zip(*map(_python, self.fields.values()), strict=True)
        if not names:  # no answers of the kind anywhere
            return [None] * len(self.present)
        return [
            dict(zip(names, found, strict=True)) if present else None
            for present, found in zip(self.present.tolist(), values, strict=True)
        ]

    def json_parts(self) -> Parts:
        """Each group's object (or null) as JSON pieces (`Parts`)."""
        if not self.present.any():
            return [b"null"]
        at = np.flatnonzero(self.present)
        if len(at) == len(self.present):
            return object_parts({name: _json(c) for name, c in self.fields.items()})
        parts = object_parts({name: _json(_taken(c, at)) for name, c in self.fields.items()})
        out = np.full(len(self.present), b"null", object)
        out[at] = object_array(pieced(parts, len(at), END).split(END)[:-1])
        return [out.tolist()]


def _taken(column: _Column, at: np.ndarray) -> _Column:
    """The groups `at` of a column."""
    if isinstance(column, _Pair):
        return _Pair(column.low[at], column.high[at])
    if isinstance(column, _Lists):
        return _Lists(column.values[at], column.lengths[at])
    taken: np.ndarray = column[at]
    return taken


def _python(column: _Column) -> list[Any]:
    """A column as one Python value per group."""
    if isinstance(column, _Pair):
        return list(zip(column.low.tolist(), column.high.tolist(), strict=True))
    if isinstance(column, _Lists):
        return [
            values[:length]
            for values, length in zip(column.values.tolist(), column.lengths.tolist(), strict=True)
        ]
    found: list[Any] = column.tolist()
    return found


#: Whole-number columns spanning at most this many values (scales) are written as `Coded`.
_FEW = 16


def _json(column: _Column) -> Parts:
    """A column's JSON text per group, as pieces."""
    if isinstance(column, _Pair):
        return [b"[", texts(np.stack([column.low, column.high], axis=1)), b"]"]
    if isinstance(column, _Lists):
        lengths = np.unique(column.lengths)
        if len(lengths) == 1 and lengths[0]:  # one length (scale): one 2-D array
            return [b"[", texts(column.values[:, : lengths[0]]), b"]"]
        return [_list_texts(column)]
    if column.dtype.kind == "i" and len(column):
        low, high = int(column.min()), int(column.max())
        if high - low < _FEW:
            return [Coded(texts(np.arange(low, high + 1)), column - low)]
    return [texts(column)]


def _list_texts(column: _Lists) -> list[bytes]:
    """Each group's list as JSON text: the groups of each length written as one 2-D array."""
    out = np.empty(len(column.lengths), object)
    for length in np.unique(column.lengths).tolist():
        at = np.flatnonzero(column.lengths == length)
        if length == 0:
            out[at] = b"[]"
            continue
        rows = texts(column.values[at, :length])
        out[at] = object_array(pieced([b"[", rows, b"]"], len(at), END).split(END)[:-1])
    written: list[bytes] = out.tolist()
    return written


# The scores, as `shared.scoring` computes them, over all groups at once.


def _min(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's min(a, b) elementwise: a unless b < a (so a signed zero stays as Python has it)."""
    found: np.ndarray = np.where(np.less(b, a), b, a)
    return found


def _max(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Python's max(a, b) elementwise: a unless b > a."""
    found: np.ndarray = np.where(np.greater(b, a), b, a)
    return found


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """Python's `round(v, digits)` of each value.

    numpy rounds the scaled float (rint(v × 10^digits) / 10^digits), Python the exact decimal
    value of v; the two differ only where v × 10^digits is within a rounding error of a half
    (or too large for that error to be small), and those few values go through Python's
    `round`. Elsewhere the integers agree, and dividing one by 10^digits gives the float
    nearest the decimal, which is what Python's `round` returns.
    """
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * scale
        found: np.ndarray = np.rint(scaled) / scale
        unsure = (np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-6) | (np.abs(scaled) >= 1e9)
    unsure &= np.isfinite(scaled)
    for i in np.flatnonzero(unsure).tolist():
        found[i] = round(float(values[i]), digits)
    return found


def _pcts(values: np.ndarray) -> np.ndarray:
    """`shared.scoring._pct` of each value."""
    return rounded(100.0 * values, 1)


def _wilson(successes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`scoring.wilson_interval` for each group with n > 0 (the others come out as NaN)."""
    z = scoring.Z95
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return _max(0.0, _min(p, centre - half)), _min(1.0, _max(p, centre + half))


def _score_nps(t: _Tally) -> _KindScores:
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
    return _KindScores(
        t.n > 0,
        {
            "score": score,
            "ci95": _Pair(low, high),
            "promoters": promoters,
            "passives": t.n - promoters - detractors,
            "detractors": detractors,
            "n": t.n,
        },
    )


def _score_csat(t: _Tally) -> _KindScores:
    satisfied = t.where(t.value_grid() >= 4)
    low, high = _wilson(satisfied, t.n)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = _pcts(satisfied / t.n)
        ci95 = _Pair(_pcts(low), _pcts(high))
    return _KindScores(t.n > 0, {"score": score, "ci95": ci95, "n": t.n})


def _score_ces(t: _Tally) -> _KindScores:
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
        mean_score = rounded(mean, 2)
        ci95 = _Pair(rounded(low, 2), rounded(high, 2))
    return _KindScores(
        t.n > 0,
        {
            "mean": mean_score,
            "mean_ci95": ci95,
            "easy_share": easy_share,
            "n": t.n,
            "scale": t.scale,
        },
    )


def _score_smiley(t: _Tally) -> _KindScores:
    positive = t.where(2 * t.value_grid() > (t.scale + 1)[:, None])
    low, high = _wilson(positive, t.n)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = _pcts(positive / t.n)
        ci95 = _Pair(_pcts(low), _pcts(high))
    first = 1 - t.low  # the column of value 1
    return _KindScores(
        t.n > 0,
        {
            "scale": t.scale,
            "counts": _Lists(t.counts[:, first:], t.scale),
            "positive_share": share,
            "ci95": ci95,
            "n": t.n,
        },
    )


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
