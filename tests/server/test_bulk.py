"""server.store.bulk on SQLite stores the very text SQLAlchemy's own processors store."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, create_engine, text
from sqlalchemy.sql.elements import quoted_name

from server.store import bulk
from server.store.schema import answers, metadata, rollups, rollups_location, submissions

WARSAW_SUMMER = timezone(timedelta(hours=2))


def _submission(i: int, tapped_at: datetime, burst: bool) -> dict[str, Any]:
    return {
        "id": f"s{i}",
        "device_id": "d",
        "location_id": "l",
        "survey_id": "v",
        "survey_version": 3,
        "staff_id": None if i % 2 else "st",
        "touchpoint_id": "tp" if i % 2 else None,
        "language": "pl",
        "tapped_at": tapped_at,
        "received_at": datetime(2026, 3, 29, 1, 59, 59, 999999, UTC),
        "skew_s": -1.25 * i,
        "effective_at": tapped_at,
        "local_date": date(2026, 3, 29),
        "weekday": 6,
        "hour": 3,
        "burst": burst,
        "content_hash": "ab" * 32,
        "payload": '{"ż":"ó"}',
    }


ROWS: dict[str, list[dict[str, Any]]] = {
    "submissions": [
        _submission(0, datetime(2026, 3, 29, 3, 0, tzinfo=WARSAW_SUMMER), False),  # no µs
        _submission(1, datetime(1999, 12, 31, 23, 59, 59, 5, UTC), True),
        _submission(2, datetime(2026, 1, 2, 3, 4, 5, 600000), False),  # naive: stored as is
    ],
    "answers": [
        {
            "submission_id": "s0",
            "question_id": "q1",
            "kind": "smiley",
            "scale": 5,
            "value": 1,
            "reasons": '["wait"]',
            "comment": None,
        },
        {
            "submission_id": "s1",
            "question_id": "q2",
            "kind": "nps",
            "scale": 11,
            "value": 10,
            "reasons": "[]",
            "comment": "dobrze",
        },
    ],
    "rollups": [
        {
            "location_id": "l",
            "touchpoint_id": "",
            "staff_id": "",
            "survey_id": "v",
            "survey_version": 1,
            "question_id": "q1",
            "kind": "smiley",
            "scale": 5,
            "local_date": date(2026, 12, 31),
            "weekday": 3,
            "hour": 23,
            "burst": burst,
            "value": 4,
            "count": 7,
        }
        for burst in (False, True)
    ],
    "rollups_location": [
        {
            "period": "month",
            "starts_on": date(2026, 2, 1),
            "location_id": "l",
            "touchpoint_id": "tp",
            "burst": True,
            "kind": "nps",
            "scale": 11,
            **{f"c{value}": 2**40 + value for value in range(11)},
        }
    ],
}


def _stored(table: Table, through_bulk: bool) -> list[tuple[Any, ...]]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine, tables=[table])
    with engine.begin() as conn:
        if through_bulk:
            bulk.sqlite_executemany(conn, table.insert(), table, ROWS[table.name])
        else:
            conn.execute(table.insert(), ROWS[table.name])
        # Raw text and numbers as stored, with their SQLite storage classes.
        names = ", ".join(f'"{c.name}", typeof("{c.name}")' for c in table.c)
        found = [tuple(row) for row in conn.execute(text(f"SELECT {names} FROM {table.name}"))]
    engine.dispose()
    return found


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them() -> None:
    for table in (submissions, answers, rollups, rollups_location):
        expected = _stored(table, through_bulk=False)
        assert len(expected) == len(ROWS[table.name])
        assert _stored(table, through_bulk=True) == expected, table.name


def test_bulk_converts_moments_to_utc_text() -> None:
    stored = _stored(submissions, through_bulk=True)
    tapped_at = [c.name for c in submissions.c].index("tapped_at") * 2
    assert [row[tapped_at] for row in stored] == [
        "2026-03-29 01:00:00.000000",
        "1999-12-31 23:59:59.000005",
        "2026-01-02 03:04:05.600000",
    ]


def test_json_rows_write_the_json_modules_text() -> None:
    """`json_rows` (orjson) writes what `json` with `isoformat()` for dates and times writes:
    aware, naive and offset times, microseconds or none, dates, floats, text beyond ASCII;
    an integer beyond 64 bits still goes (through `json`), and keys of a Column's name type."""
    named = [
        {quoted_name(key, None): value for key, value in row.items()} for row in ROWS["answers"]
    ]
    for rows in [*ROWS.values(), [{"n": 2**70, "at": date(2026, 1, 2)}], named]:
        expected = json.dumps(
            rows, ensure_ascii=False, separators=(",", ":"), default=lambda v: v.isoformat()
        )
        assert bulk.json_rows(rows) == expected


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30)),
    zone=st.sampled_from(
        [
            None,
            UTC,
            timezone(timedelta(0)),
            WARSAW_SUMMER,
            timezone(timedelta(hours=-5, minutes=-30)),
            ZoneInfo("Europe/Warsaw"),
            ZoneInfo("UTC"),
        ]
    ),
    whole_second=st.booleans(),
)
def test_moments_converted_by_the_batch_are_utc_texts(
    moment: datetime, zone: Any, whole_second: bool
) -> None:
    """A batch's moments are written by pydantic's serializer and cut to SQLAlchemy's form:
    the text `utc_text` writes for each, naive, UTC, other offsets and zones, microseconds
    and none."""
    if whole_second:
        moment = moment.replace(microsecond=0)
    moment = moment.replace(tzinfo=zone)
    texts = bulk._utc_texts([moment, None])
    assert texts == {id(moment): bulk.utc_text(moment), id(None): None}


def test_rows_sharing_moments_and_dates_convert_each_value_right() -> None:
    """Rows converted as values: a moment shared by rows and columns (the time received, a tap
    time that is its effective time), equal but distinct objects, dates repeated and not."""
    received = datetime(2026, 3, 29, 1, 59, 59, 999999, UTC)
    rows = []
    for i in range(6):
        tapped = datetime(2026, 3, 29, 3, i, 0, i * 100_000, WARSAW_SUMMER)
        effective = tapped if i % 2 else tapped + timedelta(seconds=i)
        row = _submission(i, tapped, burst=bool(i % 3))
        row.update(received_at=received, effective_at=effective, local_date=date(2026, 3, i + 1))
        rows.append(row)
    names = [c.name for c in submissions.c]
    converted = bulk.sqlite_values(submissions, [[row[name] for name in names] for row in rows])
    expected = [
        [bulk._converter(submissions.c[name].type)(row[name]) for name in names] for row in rows
    ]
    assert [list(row) for row in converted] == expected
    assert converted[1][names.index("tapped_at")] == "2026-03-29 01:01:00.100000"
    assert converted[4][names.index("effective_at")] == "2026-03-29 01:04:04.400000"
