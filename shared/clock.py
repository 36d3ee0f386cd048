"""Time helpers: RFC 3339 on the wire, store-local calendar fields, skew correction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: When the device clock is off by more than this, the server corrects tap times by the skew.
DEFAULT_SKEW_THRESHOLD_S = 120.0


class BadTimestampError(ValueError):
    """A timestamp that is not RFC 3339 with an explicit offset."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; an offset (`Z` or `±hh:mm`) is required."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise BadTimestampError(f"not an RFC 3339 timestamp: {text!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadTimestampError(f"timestamp has no UTC offset: {text!r}")
    return parsed


def to_rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a `Z` suffix."""
    if moment.tzinfo is None:
        raise BadTimestampError("naive datetime has no offset")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def is_valid_timezone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class LocalParts:
    """Where a moment falls on a store's calendar."""

    date: date
    weekday: int  # ISO: Monday 1 .. Sunday 7
    hour: int


def local_parts(moment: datetime, timezone: str) -> LocalParts:
    """The store-local date, ISO weekday and hour of an aware moment (DST-correct)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return LocalParts(date=local.date(), weekday=local.isoweekday(), hour=local.hour)


def measured_skew(device_sent_at: datetime, server_received_at: datetime) -> float:
    """Device clock minus server clock, in seconds (positive: the device runs ahead)."""
    return (device_sent_at - server_received_at).total_seconds()


def effective_time(
    tapped_at: datetime, skew_s: float, threshold_s: float = DEFAULT_SKEW_THRESHOLD_S
) -> datetime:
    """The tap time to report: the device's, corrected by the skew when |skew| > threshold."""
    if abs(skew_s) > threshold_s:
        return tapped_at - timedelta(seconds=skew_s)
    return tapped_at


def corrected_tap_time(
    tapped_at: datetime,
    received_at: datetime,
    batch_skew_s: float,
    age_s: float | None = None,
    threshold_s: float = DEFAULT_SKEW_THRESHOLD_S,
) -> tuple[float, datetime]:
    """The device clock's error at a tap, and the tap time to report.

    With `age_s` (seconds from the tap to the upload by the device's monotonic clock) the
    error is measured for this very tap — `tapped_at − (received_at − age_s)` — which stays
    right when the wall clock jumped between tap and upload. Without it, the batch's skew
    (`sent_at` against the receive time) stands in.
    """
    if age_s is None:
        skew = batch_skew_s
    else:
        skew = (tapped_at - (received_at - timedelta(seconds=age_s))).total_seconds()
    return skew, effective_time(tapped_at, skew, threshold_s)


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants at which a store-local day starts and the next one starts."""
    zone = ZoneInfo(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start + timedelta(days=1)
    return start.astimezone(UTC), datetime(end.year, end.month, end.day, tzinfo=zone).astimezone(
        UTC
    )
