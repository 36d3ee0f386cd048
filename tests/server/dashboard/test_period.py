"""The period picker: presets, a custom range, and bad input falling back to the default."""

from __future__ import annotations

from datetime import UTC, date, datetime

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


@pytest.mark.parametrize(
    ("now", "zones", "today"),
    [
        # 17:40 in Warsaw, 08:40 in Los Angeles, already 06:40 tomorrow on Kiritimati (UTC+14).
        (datetime(2026, 12, 7, 16, 40, tzinfo=UTC), ["Europe/Warsaw"], date(2026, 12, 7)),
        (datetime(2026, 12, 7, 16, 40, tzinfo=UTC), ["America/Los_Angeles"], date(2026, 12, 7)),
        (datetime(2026, 12, 7, 16, 40, tzinfo=UTC), ["Pacific/Kiritimati"], date(2026, 12, 8)),
        # 00:30 in Warsaw, still 15:30 yesterday in Los Angeles: the newest date shown wins.
        (
            datetime(2026, 12, 7, 23, 30, tzinfo=UTC),
            ["America/Los_Angeles", "Europe/Warsaw"],
            date(2026, 12, 8),
        ),
        (datetime(2026, 12, 7, 23, 30, tzinfo=UTC), ["America/Los_Angeles"], date(2026, 12, 7)),
        # No store to go by: the newest date anywhere.
        (datetime(2026, 12, 7, 16, 40, tzinfo=UTC), [], date(2026, 12, 8)),
    ],
)
def test_today_is_the_newest_date_at_the_stores_shown(
    monkeypatch: pytest.MonkeyPatch, now: datetime, zones: list[str], today: date
) -> None:
    monkeypatch.setattr(periods, "utcnow", lambda: now)
    assert periods.latest_local_day(zones) == today


def test_presets_end_today_at_the_stores_shown(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 12, 7, 16, 40, tzinfo=UTC))
    with app.test_request_context("/dashboard/?period=7"):
        found = periods.from_request(["Europe/Warsaw", "Europe/Warsaw"])
    assert (found.day_from, found.day_to) == (date(2026, 12, 1), date(2026, 12, 7))
    assert found.text == "1 Dec – 7 Dec 2026"
