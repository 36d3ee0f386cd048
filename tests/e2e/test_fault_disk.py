"""The kiosk's disk fills up (a small tmpfs): a tap is refused calmly, nothing thanked for is
lost, the database stays sound, and taps resume when space returns.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import KioskProcess, ServerProcess, Xvfb

from tests.e2e.fulldisk import fill, small_tmpfs
from tests.e2e.kiosk_driver import server_counts

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB tmpfs: room for the kiosk's database and its CJK font, until a filler takes
    the rest."""
    with small_tmpfs(tmp_path / "disk", 96) as mount:
        yield mount


def test_full_disk_pauses_taps_and_recovers(
    small_disk: Path, xvfb: Xvfb, artifacts: Path, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "server")
    server.env["SMILETAP_THANK_YOU_S"] = "1"
    server.start()
    location = server.cli_here("create-location", "--name", "Disk", "--timezone", "Europe/Warsaw")[
        "id"
    ]
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    device = server.cli_here("create-device", "--location", location, "--name", "Front")
    kiosk = KioskProcess(small_disk / "kiosk", xvfb.display, size=(800, 480))
    kiosk.log_path = tmp_path / "kiosk.log"  # the test's own log must not need the full disk
    kiosk.enroll(server.url, device["code"])
    recorded: list[str] = []
    try:
        # Uploads wait until the end, so the full disk meets a growing backlog.
        kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="3600")
        x, y = kiosk.targets("q1", timeout=60)[5]
        xvfb.click(x, y)
        recorded.append(kiosk.wait_for(r"tap recorded (\S+)").group(1))
        kiosk.wait_for(r"screen: question")

        filler = fill(small_disk)
        refused = False
        for _ in range(20):  # until a write needs a page the disk no longer has
            x, y = kiosk.targets("q1", timeout=30)[4]
            xvfb.click(x, y)
            line = kiosk.wait_for(r"tap recorded (\S+)|NOT recorded.*taps paused")
            if line.group(1) is None:
                refused = True
                break
            recorded.append(line.group(1))
            kiosk.wait_for(r"screen: question")
        assert refused, "the disk never filled"
        kiosk.wait_for(r"screen: waiting")
        kiosk.layout("waiting")  # drawn
        xvfb.screenshot(artifacts / "1-unavailable.png")
        x, y = 400, 240
        xvfb.click(x, y)  # a tap on the calm screen does nothing
        filler.unlink()
        kiosk.wait_for(r"store: writes work again", timeout=30)
        x, y = kiosk.targets("q1", timeout=30)[3]
        xvfb.screenshot(artifacts / "2-resumed.png")
        xvfb.click(x, y)
        recorded.append(kiosk.wait_for(r"tap recorded (\S+)").group(1))
    finally:
        kiosk.stop()

    database = small_disk / "kiosk" / "kiosk.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        on_disk = {row[0] for row in db.execute("SELECT id FROM submissions")}
    assert set(recorded) <= on_disk

    # The stopping kiosk already tried one last upload (kiosk/cli.py's flush), so the backlog
    # may be on the server before this start: wait for the server to hold it, by either path.
    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="1")
    try:
        deadline = time.monotonic() + 60
        stored, counted = server_counts(server)
        while sorted(stored) != sorted(on_disk) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the server's database for the upload, not a fixed wait
            stored, counted = server_counts(server)
    finally:
        kiosk.stop()
        server.stop()
    assert sorted(stored) == sorted(on_disk)
    assert counted == len(on_disk)
