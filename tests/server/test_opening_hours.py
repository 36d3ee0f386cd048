"""Opening hours: the form, and whether a store is open at a moment, in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.opening_hours import BadHours, is_open, parse_form

WEEKDAYS = {str(d): ["08:00", "20:00"] for d in range(1, 6)}


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), False),  # Mon 07:59 Warsaw
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), True),  # Mon 08:00
        (datetime(2026, 11, 23, 18, 59, tzinfo=UTC), True),  # Mon 19:59
        (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), False),  # Mon 20:00
        (datetime(2026, 11, 22, 11, 0, tzinfo=UTC), False),  # Sunday
        (datetime(2026, 7, 6, 6, 30, tzinfo=UTC), True),  # Mon 08:30 in summer time (UTC+2)
    ],
)
def test_is_open_in_store_local_time(moment: datetime, expected: bool) -> None:
    assert is_open(WEEKDAYS, "Europe/Warsaw", moment) is expected


def test_hours_past_midnight_and_none_means_always() -> None:
    late = {"6": ["18:00", "02:00"]}  # Saturday night into Sunday
    assert is_open(late, "UTC", datetime(2026, 11, 28, 23, 0, tzinfo=UTC))
    assert is_open(late, "UTC", datetime(2026, 11, 29, 1, 59, tzinfo=UTC))
    assert not is_open(late, "UTC", datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    assert not is_open(late, "UTC", datetime(2026, 11, 28, 17, 0, tzinfo=UTC))
    assert is_open(None, "UTC", datetime(2026, 11, 29, 3, 0, tzinfo=UTC))


def test_parse_form() -> None:
    assert parse_form({"open_1": "08:00", "close_1": "20:00", "open_2": ""}) == {
        "1": ["08:00", "20:00"]
    }
    assert parse_form({"always_open": "1", "open_1": "x"}) is None
    with pytest.raises(BadHours) as caught:
        parse_form({"open_7": "8:00", "close_7": "20:00"})
    assert caught.value.field == "open_7" and "Sunday" in str(caught.value)
