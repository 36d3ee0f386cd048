"""One tap travels from a real kiosk window to the report API, over real sockets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from harness import KioskProcess, ServerProcess, Xvfb

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO_SURVEY = ROOT / "deploy" / "examples" / "demo-survey.json"


def test_smiley_tap_reaches_report(
    server: ServerProcess, xvfb: Xvfb, artifacts: Path, tmp_path: Path
) -> None:
    location = server.cli_here(
        "create-location", "--name", "Warszawa Centrum", "--timezone", "Europe/Warsaw"
    )["id"]
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    device = server.cli_here("create-device", "--location", location, "--name", "Front door")
    api_key = server.cli_here("create-api-key", "--role", "admin")["key"]

    kiosk = KioskProcess(tmp_path / "kiosk", xvfb.display, size=(800, 480))
    assert device["device_id"] in kiosk.enroll(server.url, device["code"])
    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="1", SMILETAP_KIOSK_HEARTBEAT_INTERVAL_S="1")
    try:
        targets = kiosk.targets("q1", timeout=60)
        assert sorted(targets) == [1, 2, 3, 4, 5]
        xvfb.screenshot(artifacts / "1-question.png")

        x, y = targets[4]
        xvfb.click(x, y)
        tapped = kiosk.wait_for(r"tap recorded (\S+) value=(\d+)")
        assert tapped.group(2) == "4"
        kiosk.wait_for(r"screen: thanks")
        kiosk.layout("thanks")  # drawn
        xvfb.screenshot(artifacts / "2-thanks.png")

        # (logged at any moment since the tap: maybe while the thank-you screen was laid out)
        kiosk.said(r"sync: uploaded 1 accepted 1", timeout=30)
        kiosk.wait_for(r"screen: question", timeout=30)
        kiosk.layout("question")  # drawn
        xvfb.screenshot(artifacts / "3-back-to-question.png")
    finally:
        kiosk.stop()

    today = dt.datetime.now(dt.UTC).date()
    window = f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}"
    report = server.get_json(f"/api/v1/reports/scores?{window}&group_by=location", api_key)
    (group,) = report["groups"]
    assert group["key"] == {"location_id": location}
    assert group["n"] == 1
    assert group["ranked"] is False
    smiley = group["smiley"]
    assert smiley["counts"] == [0, 0, 0, 1, 0]
    assert smiley["positive_share"] == 100.0
    assert smiley["n"] == 1
