"""The period picker: presets, a custom range, and bad input falling back to the default."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from server.dashboard import period as periods

TODAY = date(2026, 3, 15)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("7", (date(2026, 3, 9), TODAY)),
        ("30", (date(2026, 2, 14), TODAY)),
        ("90", (date(2025, 12, 16), TODAY)),
        ("month", (date(2026, 3, 1), TODAY)),
        ("last-month", (date(2026, 2, 1), date(2026, 2, 28))),
        ("year", (date(2026, 1, 1), TODAY)),
    ],
)
def test_preset_ranges(key: str, expected: tuple[date, date]) -> None:
    assert periods.preset_range(key, TODAY) == expected


def test_last_month_in_january_is_last_december() -> None:
    assert periods.preset_range("last-month", date(2026, 1, 5)) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )


@pytest.mark.parametrize(
    ("query", "key", "days"),
    [
        ("period=custom&from=2026-01-01&to=2026-01-10", "custom", 10),
        ("from=2026-01-01&to=2026-01-10", "custom", 10),  # older links without `period`
        ("period=7&from=2026-01-01&to=2026-01-10", "7", 7),  # the preset wins over shown dates
        ("period=custom&from=2026-01-10&to=2026-01-01", "30", 30),  # reversed: the default
        ("period=custom&from=nonsense&to=2026-01-01", "30", 30),
        ("period=365", "30", 30),
        ("", "30", 30),
    ],
)
def test_from_request(app: Flask, query: str, key: str, days: int) -> None:
    with app.test_request_context(f"/dashboard/?{query}"):
        found = periods.from_request()
    assert (found.key, found.days) == (key, days)


def test_custom_args_round_trip_and_previous_period() -> None:
    found = periods.Period("custom", date(2026, 1, 1), date(2026, 1, 10))
    assert found.args == {"period": "custom", "from": "2026-01-01", "to": "2026-01-10"}
    assert found.previous() == periods.Period("custom", date(2025, 12, 22), date(2025, 12, 31))
    assert found.text == "1 Jan – 10 Jan 2026"
    assert periods.Period("7", date(2025, 12, 30), date(2026, 1, 5)).text == (
        "30 Dec 2025 – 5 Jan 2026"
    )
