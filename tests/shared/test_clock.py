"""Time helpers: RFC 3339 on the wire, store-local calendar fields (DST), skew correction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import (
    DEFAULT_SKEW_THRESHOLD_S,
    BadTimestampError,
    LocalParts,
    corrected_tap_time,
    effective_time,
    is_valid_timezone,
    local_day_bounds,
    local_parts,
    measured_skew,
    parse_rfc3339,
    to_rfc3339,
    utcnow,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- RFC 3339 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:15:00+01:00", utc(2026, 11, 23, 9, 15)),
        ("2026-11-23T10:15:00Z", utc(2026, 11, 23, 10, 15)),
        ("2026-11-23T10:15:00.250-05:00", utc(2026, 11, 23, 15, 15, 0, 250000)),
    ],
)
def test_parse_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.utcoffset() is not None


@pytest.mark.parametrize(
    "text", ["2026-11-23T10:15:00", "2026-11-23", "", "yesterday", "2026-13-01T00:00:00Z"]
)
def test_parse_rfc3339_needs_a_valid_timestamp_with_an_offset(text: str) -> None:
    with pytest.raises(BadTimestampError):
        parse_rfc3339(text)
    assert issubclass(BadTimestampError, ValueError)  # so pydantic reports it as a field error


def test_to_rfc3339_is_utc_with_z() -> None:
    warsaw = timezone(timedelta(hours=1))
    assert to_rfc3339(datetime(2026, 11, 23, 10, 15, tzinfo=warsaw)) == "2026-11-23T09:15:00Z"
    with pytest.raises(BadTimestampError):
        to_rfc3339(datetime(2026, 11, 23, 10, 15))  # naive on purpose


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.timezones(),
        allow_imaginary=False,
    )
)
def test_format_then_parse_is_the_same_instant(moment: datetime) -> None:
    text = to_rfc3339(moment)
    assert text.endswith("Z")
    back = parse_rfc3339(text)
    # compare in UTC: PEP 495 makes an ambiguous (fold=1) time unequal to every other zone's
    assert back == moment.astimezone(UTC)
    assert back.timestamp() == moment.timestamp()
    assert back.utcoffset() == timedelta(0)
    assert to_rfc3339(back) == text


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Europe/Warsaw", True),
        ("America/New_York", True),
        ("UTC", True),
        ("", False),
        (" Europe/Warsaw", False),
        ("Europe/Atlantis", False),
        ("../etc/passwd", False),
        ("/etc/localtime", False),
    ],
)
def test_is_valid_timezone(name: str, valid: bool) -> None:
    assert is_valid_timezone(name) is valid


# --- store-local calendar -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # Warsaw springs forward 2026-03-29 at 01:00 UTC (02:00 CET → 03:00 CEST), a Sunday
        (utc(2026, 3, 29, 0, 30), "Europe/Warsaw", LocalParts(date(2026, 3, 29), 7, 1)),
        (utc(2026, 3, 29, 1, 30), "Europe/Warsaw", LocalParts(date(2026, 3, 29), 7, 3)),
        # and falls back 2026-10-25 at 01:00 UTC (03:00 CEST → 02:00 CET): 02:xx happens twice
        (utc(2026, 10, 25, 0, 30), "Europe/Warsaw", LocalParts(date(2026, 10, 25), 7, 2)),
        (utc(2026, 10, 25, 1, 30), "Europe/Warsaw", LocalParts(date(2026, 10, 25), 7, 2)),
        (utc(2026, 10, 25, 2, 30), "Europe/Warsaw", LocalParts(date(2026, 10, 25), 7, 3)),
        # New York springs forward 2026-03-08 at 07:00 UTC (02:00 EST → 03:00 EDT)
        (utc(2026, 3, 8, 6, 30), "America/New_York", LocalParts(date(2026, 3, 8), 7, 1)),
        (utc(2026, 3, 8, 7, 30), "America/New_York", LocalParts(date(2026, 3, 8), 7, 3)),
        # and falls back 2026-11-01 at 06:00 UTC (02:00 EDT → 01:00 EST)
        (utc(2026, 11, 1, 5, 30), "America/New_York", LocalParts(date(2026, 11, 1), 7, 1)),
        (utc(2026, 11, 1, 6, 30), "America/New_York", LocalParts(date(2026, 11, 1), 7, 1)),
        # date boundaries: 23:30 UTC on Thursday 2026-01-15 is 00:30 on Friday in Warsaw (UTC+1)
        (utc(2026, 1, 15, 23, 30), "Europe/Warsaw", LocalParts(date(2026, 1, 16), 5, 0)),
        (utc(2026, 7, 4, 22, 30), "Europe/Warsaw", LocalParts(date(2026, 7, 5), 7, 0)),
        # ... and 03:30 UTC on Friday is still Thursday 22:30 in New York (UTC−5)
        (utc(2026, 1, 16, 3, 30), "America/New_York", LocalParts(date(2026, 1, 15), 4, 22)),
    ],
)
def test_local_parts(moment: datetime, zone: str, expected: LocalParts) -> None:
    assert local_parts(moment, zone) == expected


def test_local_parts_ignores_the_offset_the_moment_came_with() -> None:
    # the same instant, written in the device's offset or in UTC, lands in the same hour
    with_offset = parse_rfc3339("2026-01-16T05:30:00+06:00")
    assert local_parts(with_offset, "Europe/Warsaw") == LocalParts(date(2026, 1, 16), 5, 0)


@pytest.mark.parametrize(
    ("day", "zone", "start", "end", "hours"),
    [
        ("2026-01-15", "Europe/Warsaw", utc(2026, 1, 14, 23), utc(2026, 1, 15, 23), 24),
        ("2026-03-29", "Europe/Warsaw", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),
        ("2026-10-25", "Europe/Warsaw", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),
        ("2026-03-08", "America/New_York", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23),
        ("2026-11-01", "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
    ],
)
def test_local_day_bounds(day: str, zone: str, start: datetime, end: datetime, hours: int) -> None:
    bounds = local_day_bounds(date.fromisoformat(day), zone)
    assert bounds == (start, end)
    assert bounds[0].utcoffset() == timedelta(0)
    assert bounds[1] - bounds[0] == timedelta(hours=hours)


@settings(max_examples=200)
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    st.sampled_from(["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
)
def test_local_days_tile_the_timeline(day: date, zone: str) -> None:
    start, end = local_day_bounds(day, zone)
    assert local_day_bounds(day + timedelta(days=1), zone)[0] == end
    assert local_parts(start, zone).date == day
    assert local_parts(start, zone).hour == 0
    assert local_parts(end - timedelta(microseconds=1), zone).date == day
    assert timedelta(hours=23) <= end - start <= timedelta(hours=25)


# --- skew -----------------------------------------------------------------------------------


def test_measured_skew_is_device_minus_server() -> None:
    assert measured_skew(utc(2026, 1, 1, 10, 5), utc(2026, 1, 1, 10, 0)) == 300.0
    assert measured_skew(utc(2026, 1, 1, 9, 59, 30), utc(2026, 1, 1, 10, 0)) == -30.0


@pytest.mark.parametrize(
    ("skew", "expected"),
    [
        (0.0, utc(2026, 1, 1, 12, 0)),
        (120.0, utc(2026, 1, 1, 12, 0)),  # at the threshold: trusted as is
        (-120.0, utc(2026, 1, 1, 12, 0)),
        (120.5, utc(2026, 1, 1, 11, 57, 59, 500000)),  # beyond: corrected by the skew
        (3600.0, utc(2026, 1, 1, 11, 0)),  # device an hour ahead
        (-300.0, utc(2026, 1, 1, 12, 5)),  # device five minutes behind
    ],
)
def test_effective_time_corrects_only_beyond_the_threshold(skew: float, expected: datetime) -> None:
    assert DEFAULT_SKEW_THRESHOLD_S == 120.0
    assert effective_time(utc(2026, 1, 1, 12, 0), skew) == expected


def test_effective_time_custom_threshold() -> None:
    tapped = utc(2026, 1, 1, 12, 0)
    assert effective_time(tapped, 60.0, threshold_s=30.0) == utc(2026, 1, 1, 11, 59)
    assert effective_time(tapped, 60.0, threshold_s=90.0) == tapped


def test_skew_corrected_tap_lands_on_the_server_clock() -> None:
    # device clock 2 h fast: it sent at 14:00 device time when the server saw 12:00
    skew = measured_skew(utc(2026, 1, 1, 14, 0), utc(2026, 1, 1, 12, 0))
    assert effective_time(utc(2026, 1, 1, 13, 50), skew) == utc(2026, 1, 1, 11, 50)


def test_corrected_tap_time_measures_each_taps_own_skew() -> None:
    received = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    # The tap was 600 s before receipt by the device's monotonic clock; its wall clock said
    # 11:50 + 2 days, so that clock was 2 days (172800 s) ahead at the tap.
    tapped = datetime(2026, 11, 25, 11, 50, tzinfo=UTC)
    skew, effective = corrected_tap_time(tapped, received, batch_skew_s=0.0, age_s=600.0)
    assert skew == 172800.0
    assert effective == datetime(2026, 11, 23, 11, 50, tzinfo=UTC)
    # Within the threshold the device's own tap time stands.
    skew, effective = corrected_tap_time(received - timedelta(seconds=630), received, 0.0, 600.0)
    assert skew == -30.0 and effective == received - timedelta(seconds=630)
    # Without an age the batch skew stands in.
    skew, effective = corrected_tap_time(tapped, received, batch_skew_s=172800.0)
    assert skew == 172800.0 and effective == datetime(2026, 11, 23, 11, 50, tzinfo=UTC)
