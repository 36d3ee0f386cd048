"""`server.scores.groups_json` (the report's groups written straight from the score arrays)
is byte for byte what orjson writes of `score_groups`' dicts, for every grouping, kind, scale
and count; `rounded` rounds as Python's `round`; `server.store.fetch_columns` reads what
`fetch_tuples` reads, on both backends."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select

from server.db import make_engine
from server.scores import VALUES, groups_json, rounded, score_groups
from server.store import fetch_columns, fetch_tuples
from server.store.rollups import GROUP_COLUMNS, CountColumns
from tests.soak import soak_factor

#: (kind, scale, lowest value) of every count row a rollup can hold ("text" is not scored).
KINDS = [("nps", 11, 0), ("csat", 5, 1), ("ces", 5, 1), ("ces", 7, 1), ("smiley", 3, 1),
         ("smiley", 4, 1), ("smiley", 5, 1), ("text", 5, 1)]  # fmt: skip
#: Each group column's values as the store returns them: '' is "no touchpoint / staff"; the
#: day as ISO text (SQLite) or a date (PostgreSQL); a location id holding JSON's specials.
PARTS: dict[str, list[Any]] = {
    "location_id": ["a", "B", "loc_1", 'quote"back\\slash', "żółw"],
    "touchpoint_id": ["", "tp_1", "tp_2"],
    "staff_id": ["", "stf_1", "stf_10", "stf_9"],
    "local_date": ["2026-01-02", date(2026, 1, 3), "2026-01-10"],
    "weekday": [1, 7],
    "hour": [8, 9, 10, 21],
}


def as_columns(rows: list[tuple[Any, ...]], group_by: str) -> CountColumns:
    """Count rows (`rollups.count_rows`) column by column (`rollups.count_columns`)."""
    width = len(GROUP_COLUMNS[group_by])
    groups: list[Any] = [[row[i] for row in rows] for i in range(width)]
    for i, name in enumerate(GROUP_COLUMNS[group_by]):
        if name in ("weekday", "hour"):  # whole numbers come as arrays
            groups[i] = np.array(groups[i], np.int64)
    return CountColumns(
        groups,
        [row[width] for row in rows],
        np.array([row[width + 1] for row in rows], np.int64),
        np.array([row[width + 2 :] for row in rows], np.int64).reshape(len(rows), len(VALUES)),
    )


@st.composite
def count_rows(draw: st.DrawFn) -> tuple[str, list[tuple[Any, ...]]]:
    """A grouping and its count rows: one per group, kind and scale, as the store sums them."""
    group_by = draw(st.sampled_from(sorted(GROUP_COLUMNS)))
    names = GROUP_COLUMNS[group_by]
    keys = st.tuples(*(st.sampled_from(PARTS[name]) for name in names))
    found: dict[tuple[Any, ...], list[int]] = {}
    for key, (kind, scale, low) in draw(
        st.lists(st.tuples(keys, st.sampled_from(KINDS)), max_size=30)
    ):
        top = 10 if kind == "nps" else low + scale - 1
        counts = [0] * len(VALUES)
        for value in draw(st.lists(st.integers(low, top), min_size=1, max_size=4)):
            counts[value] = draw(st.one_of(st.integers(1, 3), st.integers(1, 10**7)))
        found[(*key, kind, scale)] = counts
    return group_by, [(*key, *counts) for key, counts in found.items()]


# The same 300 cases every run (derandomize); SMILETAP_SOAK=N runs N times as many, fresh.
@settings(max_examples=300 * soak_factor(), derandomize=soak_factor() == 1, deadline=None)
@given(count_rows(), st.integers(0, 20))
def test_json_is_what_orjson_writes_of_the_groups(
    case: tuple[str, list[tuple[Any, ...]]], min_n: int
) -> None:
    group_by, rows = case
    expected = orjson.dumps(score_groups(rows, group_by, min_n), option=orjson.OPT_SORT_KEYS)
    assert groups_json(as_columns(rows, group_by), group_by, min_n) == expected


def test_hand_picked_groups_json() -> None:
    rows = [
        ("loc_1", "", "smiley", 5, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0),
        ("loc_1", "tp_1", "nps", 11, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1),
        ("loc_1", "tp_1", "ces", 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0),
    ]
    written = orjson.loads(groups_json(as_columns(rows, "touchpoint"), "touchpoint", 2))
    assert written == [
        {"key": {"location_id": "loc_1", "touchpoint_id": None}, "n": 10, "ranked": True,
         "nps": None, "csat": None, "ces": None,
         "smiley": {"scale": 5, "counts": [3, 0, 0, 0, 7], "positive_share": 70.0,
                    "ci95": [39.7, 89.2], "n": 10}},
        {"key": {"location_id": "loc_1", "touchpoint_id": "tp_1"}, "n": 4, "ranked": True,
         "nps": {"score": 0.0, "ci95": [-52.4, 52.4], "promoters": 1, "passives": 2,
                 "detractors": 1, "n": 4},
         "csat": None,
         "ces": {"mean": 7.0, "mean_ci95": [1.0, 7.0], "easy_share": 100.0, "n": 1, "scale": 7},
         "smiley": None},
    ]  # fmt: skip
    assert groups_json(as_columns([], "day"), "day", 2) == b"[]"


def test_rounded_as_python_rounds() -> None:
    """Shares k/n of every n up to 400 (the halves among them), CES-like means, and random
    floats, to 1, 2 and 3 digits (the link report's KPIs): the same floats as Python's
    `round`."""
    shares = [k / n for n in range(1, 401) for k in range(n + 1)]
    pick = random.Random(7)
    floats = [pick.uniform(-120, 120) for _ in range(20_000)]
    halves = [k / 200 for k in range(-2000, 2001)] + [0.125, 2.675, 1.005, -0.05, -0.0, 0.0]
    for values, scale in ((shares, 100.0), (floats, 1.0), (halves, 1.0), (shares, 7.0)):
        array = np.array(values) * scale
        for digits in (1, 2, 3):
            expected = [round(v, digits) for v in array.tolist()]
            found = rounded(array, digits).tolist()
            assert found == expected
            # Signed zeros too: -0.0 == 0.0, but JSON writes "-0.0".
            assert orjson.dumps(found) == orjson.dumps(expected)


def test_rounded_keeps_nan() -> None:
    assert np.isnan(rounded(np.array([np.nan, np.inf]), 1)[0])


ROWS = [
    ("a", 1, 10**12, "x"),
    ("", 0, -3, "b,c"),
    ("żółw", 2, 0, ""),
]


@pytest.mark.parametrize(
    "rows",
    [
        ROWS,
        [],
        [("unit\x1fseparator", 1, 2, "x")],
        [("a", 1, 2, None)],
        [("a", None, 2, "x"), ("b", 3, -4, "y")],
    ],
    ids=["rows", "none", "separator in text", "null", "null number"],
)
def test_fetch_columns_reads_what_fetch_tuples_reads(
    database_url: str, rows: list[tuple[Any, ...]]
) -> None:
    """Column by column (SQLite: one JSON array each, so any text and NULLs too): the same
    values in the same order; whole numbers as an int64 array, or a list where one is NULL."""
    table = Table(
        "fetch_columns_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(64)),
        Column("small", Integer),
        Column("big", BigInteger),
        Column("note", String(64), nullable=True),
    )
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            table.create(conn)
            if rows:
                conn.execute(
                    table.insert(),
                    [
                        {"id": i, "name": n, "small": s, "big": b, "note": t}
                        for i, (n, s, b, t) in enumerate(rows)
                    ],
                )
            c = table.c
            unordered = select(c.name, c.small, c.big, c.note)
            query = unordered.order_by(c.id)
            found = fetch_columns(conn, query)
            expected = list(zip(*fetch_tuples(conn, query), strict=True)) or [()] * 4
            name, small, big, note = found
            assert name == list(expected[0]) and note == list(expected[3])
            assert big.dtype == np.int64 and big.tolist() == list(expected[2])
            if None in expected[1]:
                assert small == list(expected[1])
            else:
                assert small.dtype == np.int64 and small.tolist() == list(expected[1])
                # The unsummed pieces of a report come as a UNION ALL.
                both = fetch_columns(conn, unordered.union_all(unordered.where(c.small > 0)))
                twice = [*expected[1], *(s for s in expected[1] if s > 0)]
                assert sorted(both[1].tolist()) == sorted(twice)
            table.drop(conn)
    finally:
        engine.dispose()
