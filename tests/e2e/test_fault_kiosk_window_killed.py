"""The real kiosk window is killed (SIGKILL) right after customers tap it: after a restart,
every tap it logged as recorded reaches the server exactly once.
`SMILETAP_SOAK=N` runs N times as many kills.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from harness import KioskProcess, ServerProcess, Xvfb

from tests.e2e.kiosk_driver import server_counts
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"


def test_kiosk_window_killed_after_taps(xvfb: Xvfb, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server")
    server.env["SMILETAP_THANK_YOU_S"] = "1"  # back to the question quickly between taps
    server.start()
    location = server.cli_here("create-location", "--name", "Kill", "--timezone", "Europe/Warsaw")[
        "id"
    ]
    survey = server.cli_here("create-survey", "--file", str(DEMO_SURVEY))
    server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
    device = server.cli_here("create-device", "--location", location, "--name", "Front")
    kiosk = KioskProcess(tmp_path / "kiosk", xvfb.display, size=(800, 480))
    kiosk.enroll(server.url, device["code"])
    rng = random.Random(9)
    recorded: list[str] = []
    try:
        for _ in range(3 * soak_factor()):
            kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="1")
            for _ in range(rng.randint(1, 3)):
                targets = kiosk.targets("q1", timeout=60)
                x, y = targets[rng.choice([3, 4, 5])]  # no follow-up: straight to thank-you
                xvfb.click(x, y)
                recorded.append(kiosk.wait_for(r"tap recorded (\S+)").group(1))
                kiosk.wait_for(r"screen: question")
            time.sleep(rng.uniform(0.0, 1.5))  # maybe mid-upload, maybe before it
            assert kiosk.proc is not None
            kiosk.proc.kill()
            kiosk.proc.wait(timeout=10)
        kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="1")
        deadline = time.monotonic() + 60
        while len(server_counts(server)[0]) < len(recorded) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        kiosk.stop()
        server.stop()
    stored, counted = server_counts(server)
    assert sorted(stored) == sorted(recorded)
    assert counted == len(recorded)
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in recorded)
