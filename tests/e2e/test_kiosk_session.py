"""The kiosk as a Raspberry Pi runs it: `deploy/kiosk/kiosk-session` on a bare X server.

No window manager and no test-only geometry: the session gets only the unit's environment,
on Xvfb and on the real Xorg server (dummy video driver), at three common screen sizes. The
window must cover the screen, one click must be one press (a reason chip toggles once), a
start must log nothing CRITICAL, and a clean stop must deliver the backlog.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import BIN, KioskSession, ServerProcess, XDisplay, XorgDummy, Xvfb

from tests.e2e.kiosk_driver import HeadlessKiosk, server_counts

pytestmark = pytest.mark.e2e

#: A 7" Pi touch display, a 10" panel, a full-HD screen — on both X servers — and a 7"
#: display turned to portrait.
SCREENS = [
    *(
        (kind, size)
        for kind in ("xvfb", "xorg-dummy")
        for size in [(800, 480), (1280, 800), (1920, 1080)]
    ),
    ("xvfb", (480, 800)),
]


@pytest.fixture(scope="module")
def font_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CJK faces the first kiosk copies out of the system's collections (~5 s), handed
    to the later kiosks' data folders as if they had run before."""
    return tmp_path_factory.mktemp("kiosk-fonts")


@pytest.fixture(params=SCREENS, ids=lambda p: "{}-{}x{}".format(p[0], *p[1]))
def screen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[XDisplay]:
    kind, (width, height) = request.param
    if kind == "xorg-dummy":
        if (
            not shutil.which("Xorg")
            or not Path("/usr/lib/xorg/modules/drivers/dummy_drv.so").exists()
        ):
            pytest.fail("Xorg and its dummy driver are needed: run deploy/dev/install.sh")
        if os.geteuid() != 0:
            pytest.skip("Xorg without a console needs root here")
    display: XDisplay = (
        Xvfb(width, height) if kind == "xvfb" else XorgDummy(tmp_path / "xorg", width, height)
    )
    yield display
    display.stop()


def test_session_fills_the_screen_and_one_click_is_one_press(
    screen: XDisplay,
    server: ServerProcess,
    store_setup: tuple[str, dict],
    artifacts: Path,
    font_cache: Path,
    tmp_path: Path,
) -> None:
    location, _survey = store_setup
    device = server.cli_here("create-device", "--location", location, "--name", "Pi")
    api_key = server.cli_here("create-api-key", "--role", "admin")["key"]
    kiosk = KioskSession(tmp_path / "kiosk", screen.display)
    kiosk.enroll(server.url, device["code"])
    if any(font_cache.iterdir()):
        shutil.copytree(font_cache, kiosk.data_dir / "fonts")
    # No upload while it runs (only the one at start): what reaches the server below came
    # with the clean stop.
    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="3600")
    try:
        faces = kiosk.targets("q1", timeout=60)
        size = screen.size
        assert wait_for_geometry(screen, "Smiletap", (0, 0, *size)) == (0, 0, *size)
        screen.screenshot(artifacts / "question.png")
        screen.click(*faces[1])  # unhappiest: the reason chips come next
        kiosk.wait_for(r"tap recorded \S+ value=1")
        reasons = kiosk.named_targets("reasons")
        kiosk.layout("followup")
        screen.click(*reasons["wait"])  # read twice, it would toggle on and off again
        kiosk.layout("followup")  # the picked chip drawn
        screen.screenshot(artifacts / "followup.png")
        screen.click(*reasons["done"])
        kiosk.wait_for(r"reasons recorded \S+ reasons=wait$")
        kiosk.wait_for(r"screen: thanks")
    finally:
        assert kiosk.proc is not None
        kiosk.proc.terminate()  # SIGTERM, as a clean stop of the service
        kiosk.proc.wait(timeout=30)
    if not any(font_cache.iterdir()):
        shutil.copytree(kiosk.data_dir / "fonts", font_cache, dirs_exist_ok=True)
    kiosk.wait_for(r"flush: sent 1 accepted 1 duplicate 0 rejected 0; backlog 0", timeout=5)
    log = kiosk.log_path.read_text(encoding="utf-8")
    assert "kiosk-session: screen {}x{}".format(*size) in log
    assert "input providers: mouse=mouse" in log and "probesysfs" not in log
    assert " CRITICAL " not in log

    today = dt.datetime.now(dt.UTC).date()
    window = f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}"
    report = server.get_json(f"/api/v1/reports/scores?{window}&group_by=location", api_key)
    (group,) = report["groups"]
    assert group["smiley"]["counts"] == [1, 0, 0, 0, 0]


def wait_for_geometry(
    screen: XDisplay, name: str, expected: tuple[int, ...], timeout: float = 30.0
) -> tuple[int, ...]:
    """The window's geometry once it is `expected`, or the last one seen after `timeout`:
    X may place a new window a moment after the app logged its first targets (more than 5 s
    later on a busy machine: the tests run side by side)."""
    deadline = time.monotonic() + timeout
    while (geometry := screen.window_geometry(name)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return geometry


def test_flush_command_delivers_the_backlog_and_keeps_it_when_the_server_is_down(
    server: ServerProcess, store_setup: tuple[str, dict], tmp_path: Path
) -> None:
    """What the unit's ExecStop runs while the kiosk is still up."""
    location, survey = store_setup
    kiosk = HeadlessKiosk(server, tmp_path / "kiosk", location, survey)
    tapped = {kiosk.tap(5), kiosk.tap(3)}
    kiosk.close()
    flush = [str(BIN / "smiletap-kiosk"), "flush", "--data-dir", str(tmp_path / "kiosk")]

    server.stop()
    started = time.monotonic()
    down = subprocess.run([*flush, "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith("flush: not delivered (upload: ")
    assert down.stdout.endswith("; backlog 2 stays queued\n")
    assert time.monotonic() - started < 30  # a dead server costs seconds at a stop

    server.start()
    up = subprocess.run(flush, capture_output=True, text=True, timeout=60)
    assert up.stdout == "flush: sent 2 accepted 2 duplicate 0 rejected 0; backlog 0\n"
    assert set(server_counts(server)[0]) == tapped
