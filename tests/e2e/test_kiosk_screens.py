"""Every customer and IT screen of the real kiosk window, in every language of the demo
survey, at the four target display sizes, clicked through with real X events.

Screenshots land in artifacts/e2e/<test>/<size>/ — look at them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import KioskProcess, ServerProcess, Xvfb

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"
SIZES = [(800, 480), (1280, 800), (1920, 1080), (800, 1280)]
LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]
PIN = "2580"


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("screens")
    server = ServerProcess(folder / "server")
    server.env["SMILETAP_THANK_YOU_S"] = "1"
    server.start()
    location = server.cli(
        "create-location", "--name", "Kraków Rynek", "--timezone", "Europe/Warsaw"
    )["id"]
    survey = server.cli("create-survey", "--file", str(DEMO_SURVEY))
    server.cli("assign-survey", "--location", location, "--survey", survey["id"])
    yield server, location
    server.stop()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_screen_in_every_language(
    enrolled, xvfb: Xvfb, artifacts: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    server, location = enrolled
    device = server.cli("create-device", "--location", location, "--name", "Screens")
    kiosk = KioskProcess(tmp_path / "kiosk", xvfb.display, size=size)
    kiosk.enroll(server.url, device["code"], "--pin", PIN)
    shots = artifacts
    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="2")
    try:
        for language in LANGUAGES:
            faces = kiosk.targets("q1", timeout=60)
            chips = kiosk.named_targets("languages")
            assert sorted(chips) == sorted(LANGUAGES)
            if language != "en":
                xvfb.click(*chips[language])
                kiosk.wait_for(rf"language: {language}$")
                faces = kiosk.targets("q1")
            xvfb.screenshot(shots / f"question-{language}.png", size)

            xvfb.click(*faces[1])  # unhappiest: the follow-up reasons come next
            kiosk.wait_for(r"tap recorded \S+ value=1")
            reasons = kiosk.named_targets("reasons")
            assert {"wait", "staff", "stock", "clean", "done"} <= set(reasons)
            xvfb.click(*reasons["wait"])
            xvfb.screenshot(shots / f"followup-{language}.png", size)
            xvfb.click(*reasons["done"])
            kiosk.wait_for(r"reasons recorded \S+ reasons=wait$")
            kiosk.wait_for(r"screen: thanks")
            xvfb.screenshot(shots / f"thanks-{language}.png", size)
            kiosk.wait_for(r"screen: question")

        kiosk.targets("q1")
        xvfb.long_press(8, 8, 3.5)  # IT's way in: the top-left corner
        kiosk.wait_for(r"screen: pin")
        keys = kiosk.named_targets("pin")
        xvfb.screenshot(shots / "pin.png", size)
        for digit in [*PIN, "ok"]:
            xvfb.click(*keys[digit])
        kiosk.wait_for(r"screen: status")
        buttons = kiosk.named_targets("status")
        xvfb.click(*buttons["sync"])
        xvfb.screenshot(shots / "status.png", size)
        xvfb.click(*buttons["back"])
        kiosk.wait_for(r"screen: question")
    finally:
        kiosk.stop()
    taken = sorted(p.name for p in shots.glob("*.png"))
    assert len(taken) == 3 * len(LANGUAGES) + 2
