"""Bad network between kiosk and server: every tap arrives exactly once.

A proxy drops requests, cuts answers off after the server committed, delays past the
kiosk's timeout and resets connections. `SMILETAP_SOAK=N` runs N times as many rounds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from harness import ServerProcess

from tests.e2e.faultproxy import FaultProxy
from tests.e2e.kiosk_driver import HeadlessKiosk, server_counts
from tests.soak import soak_factor

pytestmark = pytest.mark.e2e


def test_every_tap_delivered_once_through_a_bad_network(
    server: ServerProcess, store_setup: tuple[str, dict], tmp_path: Path
) -> None:
    location, survey = store_setup
    kiosk = HeadlessKiosk(server, tmp_path / "kiosk", location, survey)
    proxy = FaultProxy(server.port, seed=11)
    kiosk.route_through(proxy.url)
    results: Counter[str] = Counter()
    try:
        for round_ in range(12 * soak_factor()):
            for i in range(7):
                kiosk.tap(1 + (round_ + i) % 5)
            report = kiosk.sync.upload_pending()  # may fail: the network decides
            results.update(
                accepted=report.accepted, duplicate=report.duplicate, rejected=report.rejected
            )
        proxy.weights = [1.0 if fate == "pass" else 0.0 for fate in proxy.fates]
        kiosk.drain()
    finally:
        proxy.stop()
    recorded = kiosk.recorded_ids()
    kiosk.close()

    stored, counted = server_counts(server)
    assert sorted(stored) == sorted(recorded)  # each exactly once (a list, so twice would show)
    assert counted == len(recorded)  # the rollups counted none twice
    assert results["rejected"] == 0
    # The scenario really exercised the faults it is about.
    assert proxy.counts["drop_response"] > 0 and proxy.counts["reset"] > 0
    print(
        f"network: {len(recorded)} taps, server {len(stored)}, fates {dict(proxy.counts)}, "
        f"results {dict(results)}"
    )
