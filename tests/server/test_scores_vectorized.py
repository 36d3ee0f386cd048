"""`server.scores.build_groups` (numpy over all groups) equals scoring each group on its own
with `shared.scoring`, the way the reports scored before: the same groups, order and floats."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.scores import build_groups, majority_scale
from shared import scoring
from tests.soak import soak_factor

SCALES = {"nps": [11], "csat": [5], "ces": [5, 7], "smiley": [3, 4, 5]}
LOW = {"nps": 0}


def reference(rows: list[dict[str, Any]], min_n: int) -> list[dict[str, Any]]:
    """Per group and kind: pool the counts, take the majority scale, score with shared.scoring."""
    tallies: dict[Any, dict[str, dict[int, dict[int, int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict))
    )
    for row in rows:
        by_value = tallies[(row["location_id"], row["local_date"])][row["kind"]][row["scale"]]
        by_value[row["value"]] = by_value.get(row["value"], 0) + row["n"]
    groups = []
    for key in sorted(tallies, key=lambda k: tuple(str(p) for p in k)):
        found: dict[str, Any] = {"nps": None, "csat": None, "ces": None, "smiley": None}
        for kind, by_scale in tallies[key].items():
            if kind not in found:
                continue
            scale = majority_scale({s: sum(c.values()) for s, c in by_scale.items()})
            counts = dict(sorted(by_scale[scale].items()))  # values ascending, as numpy adds
            score = {
                "nps": lambda c, _: scoring.nps(c),
                "csat": lambda c, _: scoring.csat(c),
                "ces": scoring.ces,
                "smiley": scoring.smiley,
            }[kind](counts, scale)
            found[kind] = score and dataclasses.asdict(score)
        for score in found.values():  # asdict turns tuples into tuples; keep lists as lists
            if score:
                for name in ("ci95", "mean_ci95"):
                    if name in score:
                        score[name] = tuple(score[name])
        n = max((s["n"] for s in found.values() if s is not None), default=0)
        groups.append(
            {
                "key": {"location_id": key[0], "date": key[1].isoformat()},
                "n": n,
                "ranked": n >= min_n,
                **found,
            }
        )
    return groups


#: Every (kind, scale, value) a count row can hold ("text" answers are not scored) and every
#: (location, date) group: one draw each per row. Hypothesis's cost is per draw, and drawing
#: the five fields apart made generating the rows ~70 % of the test's time.
CELLS = [
    (kind, scale, value)
    for kind in [*SCALES, "text"]
    for scale in SCALES.get(kind, [5])
    for value in range(LOW.get(kind, 1), LOW.get(kind, 1) + (11 if kind == "nps" else scale))
]
KEYS = [(location, date(2026, 1, day)) for location in ("a", "b", "B") for day in range(1, 13)]


@st.composite
def count_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        location_id, local_date = draw(st.sampled_from(KEYS))
        kind, scale, value = draw(st.sampled_from(CELLS))
        rows.append(
            {
                "location_id": location_id,
                "local_date": local_date,
                "kind": kind,
                "scale": scale,
                "value": value,
                "n": draw(st.one_of(st.integers(1, 3), st.integers(1, 10**7))),
            }
        )
    return rows


# The same 200 cases every run (derandomize); SMILETAP_SOAK=N runs N times as many, fresh.
@settings(max_examples=200 * soak_factor(), derandomize=soak_factor() == 1, deadline=None)
@given(count_rows(), st.integers(0, 50))
def test_equal_to_scoring_each_group_alone(rows: list[dict[str, Any]], min_n: int) -> None:
    assert build_groups(rows, "day", min_n) == reference(rows, min_n)


def test_the_same_floats_on_hand_picked_counts() -> None:
    rows = [
        {"location_id": "a", "local_date": date(2026, 1, 1), "kind": kind, "scale": scale,
         "value": value, "n": n}
        for kind, scale, value, n in [
            ("nps", 11, 10, 1), ("nps", 11, 0, 1), ("nps", 11, 7, 3),
            ("csat", 5, 4, 0), ("csat", 5, 1, 7),
            ("ces", 7, 7, 1),
            ("smiley", 3, 2, 5), ("smiley", 5, 5, 5), ("smiley", 5, 1, 5),
        ]
    ]  # fmt: skip
    [group] = build_groups(rows, "day", 10)
    assert group == reference(rows, 10)[0]
    assert group["ces"]["mean_ci95"] == (1.0, 7.0)  # one answer: the whole scale
    assert group["smiley"]["scale"] == 5 and group["smiley"]["counts"] == [5, 0, 0, 0, 5]
    assert group["csat"]["score"] == 0.0 and group["nps"]["passives"] == 3
