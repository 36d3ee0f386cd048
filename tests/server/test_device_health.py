"""Device health: one rule for the devices page and the silent-kiosk alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.device_health import Health, classify, device_state, of_device

WARNING_S, CRITICAL_S = 3600.0, 86400.0
# Monday 2026-11-23, 12:00 in Warsaw; the store opens 08:00–20:00 on weekdays only.
MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SUNDAY_NOON = MONDAY_NOON - timedelta(days=1)
WARSAW = {"timezone": "Europe/Warsaw", "opening_hours": '{"1": ["08:00", "20:00"]}'}


@pytest.mark.parametrize(
    ("silent_s", "store_open", "expected"),
    [
        (0, True, Health("ok", 0)),
        (3599, True, Health("ok", 3599)),
        (3600, True, Health("warning", 3600)),
        (3600, False, Health("ok", 3600, waiting_for_opening=True)),
        (86399, False, Health("ok", 86399, waiting_for_opening=True)),
        (86400, False, Health("critical", 86400)),
        (86400, True, Health("critical", 86400)),
    ],
)
def test_classify(silent_s: float, store_open: bool, expected: Health) -> None:
    assert classify(silent_s, store_open, WARNING_S, CRITICAL_S) == expected


def _device(last_contact_at: datetime | None, **changes: object) -> dict[str, object]:
    enrolled = MONDAY_NOON - timedelta(days=30)
    return {
        "revoked_at": None,
        "enrolled_at": enrolled,
        "last_contact_at": last_contact_at,
        **changes,
    }


def test_of_device_honours_the_store_hours() -> None:
    two_hours = timedelta(hours=2)
    open_now = of_device(
        _device(MONDAY_NOON - two_hours), WARSAW, MONDAY_NOON, WARNING_S, CRITICAL_S
    )
    closed = of_device(_device(SUNDAY_NOON - two_hours), WARSAW, SUNDAY_NOON, WARNING_S, CRITICAL_S)
    assert open_now == Health("warning", 7200)
    assert closed == Health("ok", 7200, waiting_for_opening=True)
    # Stored timestamps come back naive from SQLite: they are UTC.
    naive = (SUNDAY_NOON - timedelta(days=2)).replace(tzinfo=None)
    assert of_device(_device(naive), WARSAW, SUNDAY_NOON, WARNING_S, CRITICAL_S).state == "critical"  # type: ignore[union-attr]
    # Never in contact since enrolling: silent since the enrollment.
    assert of_device(_device(None), WARSAW, MONDAY_NOON, WARNING_S, CRITICAL_S).state == "critical"  # type: ignore[union-attr]
    assert of_device(_device(None, enrolled_at=None), WARSAW, MONDAY_NOON, 1, 2) is None
    assert (
        of_device(_device(MONDAY_NOON, revoked_at=MONDAY_NOON), WARSAW, MONDAY_NOON, 1, 2) is None
    )


def test_the_devices_page_uses_the_same_rule_as_the_alert() -> None:
    """A kiosk silent for 2 h on a Sunday the store is closed is no warning on the page either
    (the page used to ignore opening hours and showed one)."""
    row = _device(SUNDAY_NOON - timedelta(hours=2))
    assert device_state(row, SUNDAY_NOON, WARNING_S, CRITICAL_S, WARSAW) == "ok"
    row = _device(MONDAY_NOON - timedelta(hours=2))
    assert device_state(row, MONDAY_NOON, WARNING_S, CRITICAL_S, WARSAW) == "warning"
