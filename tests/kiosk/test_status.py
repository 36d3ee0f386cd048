"""The IT status screen's words: a sync state, durations and store-local clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.i18n import translations
from kiosk.status import clock_text, duration_text, status_lines, status_report, sync_state
from kiosk.store import LocalStore
from tests.kiosk.conftest import make_config, make_submission

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)  # 11:15 in Warsaw


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-3, "0 s"), (12, "12 s"), (59, "59 s"), (300, "5 min"), (7300, "2 h"), (200000, "2 d")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_duration_text_is_translated() -> None:
    assert duration_text(300, translations("ru").gettext) == "5 мин"
    assert duration_text(12, translations("zh-Hant").gettext) == "12 秒"


def test_clock_text_is_the_stores_clock() -> None:
    earlier = NOW - timedelta(seconds=12)
    assert clock_text(earlier, "Europe/Warsaw", NOW) == "11:14:48"
    assert clock_text(earlier, "Asia/Tokyo", NOW) == "19:14:48"
    assert clock_text(NOW - timedelta(days=2), "Europe/Warsaw", NOW) == "2026-11-21 11:15"


@pytest.mark.parametrize(
    ("summary", "state"),
    [
        ({"status": "enrolled", "last_error": None, "backlog": 0}, "in_sync"),
        ({"status": "enrolled", "last_error": None, "backlog": 3}, "behind"),
        ({"status": "enrolled", "last_error": "upload: refused", "backlog": 3}, "offline"),
        ({"status": "revoked", "last_error": "upload: 401", "backlog": 3}, "revoked"),
    ],
)
def test_sync_state(summary: dict[str, object], state: str) -> None:
    assert sync_state(summary) == state


def test_status_reads_as_durations_with_store_local_times(store: LocalStore) -> None:
    store.set_config(make_config())  # Europe/Warsaw
    tap = make_submission()
    store.record_submission(tap)
    store.set_state(last_sync_at="2026-11-23T10:14:48.123456Z", status="enrolled")
    report = status_report(store, "0.1.0", NOW)
    text = "\n".join(report.lines)
    assert report.state == "behind" and report.headline == "Behind"
    assert report.lines[0].startswith("Last sync: 12 s ago (11:14:48)")
    assert "Backlog: 1  oldest pending: " in text
    assert ".123456" not in text and "T10:14" not in text  # no raw ISO timestamps
    assert "device clock: 11:15:00" in text
    polish = status_lines(store, "0.1.0", NOW, gettext=translations("pl").gettext)
    assert polish[0].startswith("Ostatnia synchronizacja: 12 s temu (11:14:48)")
