"""Wrong and jumping kiosk clocks, and taps across a DST change: the server's effective tap
times and store-local hours are right.

The kiosk's wall clock is replaced in-process (changing this machine's clock is not ours to
do); its monotonic clock, like a real device's, keeps running regardless.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from harness import ServerProcess
from sqlalchemy import create_engine, text

import kiosk.api_client
import kiosk.sync
from tests.e2e.kiosk_driver import HeadlessKiosk

pytestmark = pytest.mark.e2e

DAY = dt.timedelta(days=1)


class DeviceClock:
    """The kiosk's wall clock: real time plus an offset that the test moves."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def effective_times(server: ServerProcess) -> dict[str, tuple[dt.datetime, dt.date, int]]:
    engine = create_engine(f"sqlite:///{server.instance_dir}/smiletap.db")
    with engine.connect() as db:
        rows = db.execute(text("SELECT id, effective_at, local_date, hour FROM submissions"))
        found = {}
        for sid, effective, local_date, hour in rows:
            moment = (
                effective
                if isinstance(effective, dt.datetime)
                else (dt.datetime.fromisoformat(str(effective)))
            )
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            day = (
                local_date
                if isinstance(local_date, dt.date)
                else dt.date.fromisoformat(str(local_date))
            )
            found[sid] = (moment, day, int(hour))
    engine.dispose()
    return found


@pytest.mark.parametrize(
    ("at_tap", "at_upload"),
    [
        (3 * DAY, 3 * DAY),  # days ahead all along
        (-2 * DAY, -2 * DAY),  # days behind all along
        (-2 * DAY, dt.timedelta(0)),  # wrong at the tap, put right before the upload
        (dt.timedelta(0), 5 * DAY),  # right at the tap, jumped ahead before the upload
        (4 * DAY, -3 * DAY),  # ahead at the tap, behind at the upload
    ],
    ids=["ahead", "behind", "fixed-before-upload", "jumped-ahead", "jumped-back"],
)
def test_wrong_and_jumping_kiosk_clock(
    server: ServerProcess,
    store_setup: tuple[str, dict],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    at_tap: dt.timedelta,
    at_upload: dt.timedelta,
) -> None:
    location, survey = store_setup
    clock = DeviceClock()
    for module in (kiosk.sync, kiosk.api_client):
        monkeypatch.setattr(module, "utcnow", clock.now)
    device = HeadlessKiosk(server, tmp_path / "kiosk", location, survey)
    clock.offset = at_tap
    real_tap = dt.datetime.now(dt.UTC)
    ids = [device.tap(4, tapped_at=clock.now()) for _ in range(3)]
    clock.offset = at_upload
    device.drain()
    device.close()

    warsaw = real_tap.astimezone(ZoneInfo("Europe/Warsaw"))
    found = effective_times(server)
    for sid in ids:
        effective, local_date, hour = found[sid]
        assert abs((effective - real_tap).total_seconds()) < 60, (sid, effective, real_tap)
        assert (local_date, hour) == (warsaw.date(), warsaw.hour)


def test_taps_across_a_dst_change_land_in_store_local_hours(
    server: ServerProcess, store_setup: tuple[str, dict]
) -> None:
    """Warsaw leaves summer time at 01:00 UTC on 2026-10-25: 02:xx local happens twice."""
    location, survey = store_setup
    device = server.cli_here("create-device", "--location", location, "--name", "dst")
    token = requests.post(
        f"{server.url}/api/v1/enroll", json={"code": device["code"]}, timeout=30
    ).json()["token"]
    api_key = server.cli_here("create-api-key", "--role", "admin")["key"]
    taps = {
        "2026-10-25T00:30:00Z": 2,
        "2026-10-25T01:30:00Z": 2,
        "2026-10-25T02:30:00Z": 3,
        "2026-10-24T21:59:00Z": 23,
        "2026-10-24T22:01:00Z": 0,
    }
    now = dt.datetime.now(dt.UTC).isoformat()
    batch = {
        "sent_at": now,
        "submissions": [
            {
                "id": f"00000000-0000-4000-8000-00000000000{i}",
                "survey_id": survey["id"],
                "survey_version": survey["version"],
                "location_id": location,
                "language": "en",
                "tapped_at": tapped,
                "answers": [{"question_id": "q1", "value": 5}],
            }
            for i, tapped in enumerate(taps)
        ],
    }
    answer = requests.post(
        f"{server.url}/api/v1/submissions",
        json=batch,
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
    report = requests.get(
        f"{server.url}/api/v1/reports/scores?from=2026-10-24&to=2026-10-25"
        "&group_by=weekday_hour&min_n=1",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    ).json()
    counts = {(g["key"]["weekday"], g["key"]["hour"]): g["n"] for g in report["groups"]}
    # Saturday 24th 23:59 local; Sunday 25th: 00:01, 02:30 (twice: CEST then CET), 03:30.
    assert counts == {(6, 23): 1, (7, 0): 1, (7, 2): 2, (7, 3): 1}
