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
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

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


def _majority_scale(by_scale: dict[int, dict[int, int]]) -> int:
    return majority_scale({scale: sum(counts.values()) for scale, counts in by_scale.items()})


def _score_kinds(counts: dict[str, dict[int, dict[int, int]]]) -> dict[str, Any]:
    found: dict[str, Any] = {"nps": None, "csat": None, "ces": None, "smiley": None}
    if "nps" in counts:
        found["nps"] = scoring.nps(counts["nps"][_majority_scale(counts["nps"])])
    if "csat" in counts:
        found["csat"] = scoring.csat(counts["csat"][_majority_scale(counts["csat"])])
    for kind, fn in (("ces", scoring.ces), ("smiley", scoring.smiley)):
        if kind in counts:
            scale = _majority_scale(counts[kind])
            found[kind] = fn(counts[kind][scale], scale)
    # Shallow: the score dataclasses hold numbers, tuples and lists (asdict deep-copies them).
    return {
        k: (None if v is None else {f.name: getattr(v, f.name) for f in dataclasses.fields(v)})
        for k, v in found.items()
    }


def build_groups(rows: Iterable[dict[str, Any]], group_by: str, min_n: int) -> list[dict[str, Any]]:
    """One score group per key, in key order, from summed counts per kind, scale and value."""
    columns = GROUP_COLUMNS[group_by]
    names = KEY_NAMES[group_by]
    tallies: dict[tuple[Any, ...], dict[str, dict[int, dict[int, int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict))
    )
    for row in rows:
        key = tuple(row[c] for c in columns)
        by_value = tallies[key][row["kind"]][row["scale"]]
        by_value[row["value"]] = by_value.get(row["value"], 0) + int(row["n"])
    groups = []
    for key in sorted(tallies, key=lambda k: tuple(str(p) for p in k)):
        scored = _score_kinds(tallies[key])
        n = max((s["n"] for s in scored.values() if s is not None), default=0)
        groups.append(
            {
                "key": {name: _key_value(v) for name, v in zip(names, key, strict=True)},
                "n": n,
                "ranked": n >= min_n,
                **scored,
            }
        )
    return groups
