"""The kiosk is killed (SIGKILL) at random moments while it taps and uploads: after a restart
and a sync, every tap it reported durable is on the server exactly once.
`SMILETAP_SOAK=N` runs N times as many kills.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import LineReader, ServerProcess

from tests.e2e.kiosk_driver import HeadlessKiosk, server_counts
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e

TAPPER = Path(__file__).with_name("tapper.py")


def test_kiosk_killed_while_tapping_and_uploading(
    server: ServerProcess, store_setup: tuple[str, dict], tmp_path: Path
) -> None:
    location, survey = store_setup
    data_dir = tmp_path / "kiosk"
    HeadlessKiosk(server, data_dir, location, survey).close()  # enrolled, then let go
    rng = random.Random(3)
    durable: list[str] = []
    kills = 15 * soak_factor()
    for round_ in range(kills):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(TAPPER),
                str(data_dir),
                survey["id"],
                str(survey["version"]),
                location,
                str(round_),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        output = LineReader(proc.stdout)
        output.wait_for(r"^durable ", timeout=60)
        time.sleep(rng.uniform(0.05, 0.8))
        proc.kill()  # SIGKILL: wherever it is — mid-commit, mid-upload, mid-mark
        proc.wait(timeout=10)
        output.wait_closed()
        durable += [line.split()[1] for line in output.seen if line.startswith("durable ")]

    kiosk = HeadlessKiosk.reopen(data_dir, location, survey)
    kiosk.drain()
    recorded = kiosk.recorded_ids()
    kiosk.close()
    stored, counted = server_counts(server)

    assert set(durable) <= recorded  # every tap the kiosk thanked for survived the kill
    assert sorted(stored) == sorted(recorded)  # and is on the server exactly once
    assert counted == len(recorded)
    print(
        f"kiosk killed {kills}x: {len(durable)} taps thanked, {len(recorded)} on disk, "
        f"{len(stored)} on the server"
    )
