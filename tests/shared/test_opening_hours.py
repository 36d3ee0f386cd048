"""Opening hours: valid hours, and whether a store is open at a moment in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.opening_hours import check_hours, is_hhmm, is_open

WEEKDAYS = {str(d): ["08:00", "20:00"] for d in range(1, 6)}


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), False),  # Mon 07:59 Warsaw
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), True),  # Mon 08:00
        (datetime(2026, 11, 23, 18, 59, tzinfo=UTC), True),  # Mon 19:59
        (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), False),  # Mon 20:00
        (datetime(2026, 11, 22, 11, 0, tzinfo=UTC), False),  # Sunday: no hours, closed all day
        (datetime(2026, 11, 22, 0, 0, tzinfo=UTC), False),
        (datetime(2026, 11, 22, 22, 59, tzinfo=UTC), False),
        (datetime(2026, 7, 6, 6, 30, tzinfo=UTC), True),  # Mon 08:30 in summer time (UTC+2)
    ],
)
def test_is_open_in_store_local_time(moment: datetime, expected: bool) -> None:
    assert is_open(WEEKDAYS, moment, "Europe/Warsaw") is expected


def test_the_hours_follow_the_clocks_on_a_dst_day() -> None:
    # Sunday 2026-03-29: Warsaw springs from 02:00 CET to 03:00 CEST (UTC+1 → UTC+2).
    sunday = {"7": ["08:00", "20:00"]}
    assert not is_open(sunday, datetime(2026, 3, 29, 5, 59, tzinfo=UTC), "Europe/Warsaw")
    assert is_open(sunday, datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "Europe/Warsaw")  # 08:00
    assert is_open(sunday, datetime(2026, 3, 29, 17, 59, tzinfo=UTC), "Europe/Warsaw")
    assert not is_open(sunday, datetime(2026, 3, 29, 18, 0, tzinfo=UTC), "Europe/Warsaw")
    # Sunday 2026-10-25: back from 03:00 CEST to 02:00 CET (UTC+2 → UTC+1).
    assert not is_open(sunday, datetime(2026, 10, 25, 6, 59, tzinfo=UTC), "Europe/Warsaw")
    assert is_open(sunday, datetime(2026, 10, 25, 7, 0, tzinfo=UTC), "Europe/Warsaw")  # 08:00
    assert not is_open(sunday, datetime(2026, 10, 25, 19, 0, tzinfo=UTC), "Europe/Warsaw")


def test_hours_past_midnight_and_none_means_always() -> None:
    late = {"6": ["18:00", "02:00"]}  # Saturday night into Sunday
    assert is_open(late, datetime(2026, 11, 28, 23, 0, tzinfo=UTC), "UTC")
    assert is_open(late, datetime(2026, 11, 29, 1, 59, tzinfo=UTC), "UTC")
    assert not is_open(late, datetime(2026, 11, 29, 2, 0, tzinfo=UTC), "UTC")
    assert not is_open(late, datetime(2026, 11, 28, 17, 0, tzinfo=UTC), "UTC")
    assert is_open(None, datetime(2026, 11, 29, 3, 0, tzinfo=UTC), "UTC")
    assert not is_open({}, datetime(2026, 11, 29, 3, 0, tzinfo=UTC), "UTC")  # closed every day


def test_sunday_night_runs_into_monday() -> None:
    assert is_open({"7": ["22:00", "01:00"]}, datetime(2026, 11, 23, 0, 30, tzinfo=UTC), "UTC")


@pytest.mark.parametrize("text", ["00:00", "08:30", "23:59"])
def test_hhmm(text: str) -> None:
    assert is_hhmm(text)


@pytest.mark.parametrize("text", ["8:00", "24:00", "12:60", "", "12:00 "])
def test_not_hhmm(text: str) -> None:
    assert not is_hhmm(text)


@pytest.mark.parametrize(
    "hours",
    [{"0": ["08:00", "20:00"]}, {"1": ["08:00"]}, {"1": ["8:00", "20:00"]}, {"1": ["09:00"] * 2}],
)
def test_bad_hours_are_refused(hours: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError):
        check_hours(hours)
    assert check_hours(None) is None
    assert check_hours(WEEKDAYS) == WEEKDAYS


def test_open_spans_are_real_lengths_across_daylight_saving() -> None:
    from datetime import date

    from shared.opening_hours import open_spans

    # Warsaw springs forward on 2026-03-29: an always-open day is 23 hours long.
    [(start, end)] = open_spans(None, date(2026, 3, 29), "Europe/Warsaw")
    assert (end - start).total_seconds() == 23 * 3600
    [(start, end)] = open_spans(None, date(2026, 10, 25), "Europe/Warsaw")
    assert (end - start).total_seconds() == 25 * 3600
    # Hours past midnight belong to the day they open on; a day not listed is closed.
    hours = {"5": ["18:00", "02:00"]}
    [(start, end)] = open_spans(hours, date(2026, 11, 20), "Europe/Warsaw")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-11-20T17:00:00+00:00",
        "2026-11-21T01:00:00+00:00",
    )
    assert open_spans(hours, date(2026, 11, 21), "Europe/Warsaw") == []
