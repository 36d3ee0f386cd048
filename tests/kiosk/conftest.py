"""Fixtures for the kiosk tests: settings and a store in a temp dir, a stored config, and a
real Smiletap server on a real socket (set up through its pinned command line)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask import Flask

# A TextInput makes Kivy pick a clipboard: use SDL2's instead of probing for xclip/xsel.
os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")

from kiosk.settings import Settings
from kiosk.store import LocalStore
from shared.ids import new_submission_id
from shared.protocol import Answer, ConfigResponse, Submission
from tests.serving import Serving

SURVEY_DEFINITION: dict[str, Any] = {
    "languages": ["en", "pl"],
    "default_language": "en",
    "questions": [
        {
            "id": "q1",
            "kind": "smiley",
            "scale": 4,
            "text": {"en": "How was your visit today?", "pl": "Jak oceniasz wizytę?"},
        },
    ],
    "staff_prompt": "none",
    "fixed_staff_id": None,
    "thank_you": {"en": "Thank you!", "pl": "Dziękujemy!"},
}


def config_json(**overrides: Any) -> str:
    """A /config body as the server would send it (JSON text, as the kiosk receives it)."""
    survey = {"id": "srv_test", "version": 1, **SURVEY_DEFINITION}
    survey.update(overrides.pop("survey", {}))
    body = {
        "etag": "etag-1",
        "device": {"id": "dev_test", "name": "Front door"},
        "location": {"id": "loc_test", "name": "Test store", "timezone": "Europe/Warsaw"},
        "survey": survey,
        "staff": [],
        "kiosk": {"idle_reset_s": 20, "thank_you_s": 4, "burst_max_taps": 5, "burst_window_s": 10},
    }
    body.update(overrides)
    return json.dumps(body)


def make_config(**overrides: Any) -> ConfigResponse:
    return ConfigResponse.model_validate_json(config_json(**overrides))


def make_submission(value: int = 3, **overrides: Any) -> Submission:
    """A valid submission for the test config (or for a live server's, via overrides)."""
    fields: dict[str, Any] = {
        "id": new_submission_id(),
        "survey_id": "srv_test",
        "survey_version": 1,
        "location_id": "loc_test",
        "language": "en",
        "tapped_at": datetime.now(UTC),
        "answers": [Answer(question_id="q1", value=value)],
    }
    fields.update(overrides)
    return Submission(**fields)


@pytest.fixture(scope="session")
def shared_fonts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fonts directory for the whole run: the CJK faces are extracted once, not per test."""
    return tmp_path_factory.mktemp("fonts")


@pytest.fixture
def settings(tmp_path: Path, shared_fonts: Path) -> Settings:
    data_dir = tmp_path / "kiosk"
    data_dir.mkdir()
    (data_dir / "fonts").symlink_to(shared_fonts, target_is_directory=True)
    return Settings(data_dir=data_dir, http_timeout_s=5.0, batch_size=500)


@pytest.fixture
def store(settings: Settings) -> Iterator[LocalStore]:
    local = LocalStore(settings.database_path)
    yield local
    local.close()


# --- the controller with a fake clock and a fake view (no window) -----------------------------

#: Monday 23 November 2026, 07:59 in Warsaw (UTC+1 in November).
MONDAY_0759 = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)


class FakeClock:
    """A kiosk clock that moves only when a test says: `advance(seconds)`, or set `now`."""

    def __init__(self, now: datetime = MONDAY_0759) -> None:
        self.now = now
        self.mono = 1000.0

    def utcnow(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


class FakeView:
    """What a window would show, as plain data: the screen and what each screen was given."""

    def __init__(self) -> None:
        self.screen: str | None = None
        self.language = "en"
        self.filled: dict[str, Any] = {}
        self.wake: float | None = None
        self.quit_called = False

    def show(self, screen: str) -> None:
        self.screen = screen

    def use_language(self, code: str) -> None:
        self.language = code

    def gettext(self, message: str) -> str:
        return message

    def fill_waiting(self, message: str) -> None:
        self.filled["waiting"] = message

    def fill_setup(self, *, can_cancel: bool, server_url: str | None) -> None:
        self.filled["setup"] = {"can_cancel": can_cancel, "server_url": server_url}

    def fill_setup_result(self, error: str) -> None:
        self.filled["setup_result"] = error

    def fill_question(self, session: Any) -> None:
        self.filled["question"] = (session.question.id, session.language)

    def fill_followup(self, prompt: str, reasons: list[tuple[str, str]]) -> None:
        self.filled["followup"] = (prompt, reasons)

    def fill_comment(self) -> None:
        self.filled["comment"] = ""

    def fill_staff(self, staff: list[tuple[str, str]]) -> None:
        self.filled["staff"] = staff

    def fill_thanks(self, message: str) -> None:
        self.filled["thanks"] = message

    def fill_pin(self, message: str, *, clear: bool) -> None:
        self.filled["pin"] = message

    def fill_status(self, text: str, *, busy: bool, state: str = "", headline: str = "") -> None:
        self.filled["status"] = text
        self.filled["status_busy"] = busy
        self.filled["status_state"] = state

    def wake_in(self, seconds: float | None) -> None:
        self.wake = seconds

    def run_in_background(self, work: Any, then: Any) -> None:
        then(work())  # no thread: the test sees the outcome at once

    def quit(self) -> None:
        self.quit_called = True


class Harness:
    """A controller over a real store, a fake clock and a fake view."""

    def __init__(self, controller: Any, clock: FakeClock, view: FakeView) -> None:
        self.controller = controller
        self.clock = clock
        self.view = view

    @property
    def screen(self) -> str | None:
        return self.controller.screen

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass, firing each timer when it falls due (as the Kivy Clock would)."""
        end = self.clock.mono + seconds
        while (due := self.controller.next_wake_s()) is not None and self.clock.mono + due <= end:
            self.clock.advance(due)
            self.controller.tick()
        self.clock.advance(end - self.clock.mono)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_controller(settings: Settings, store: LocalStore, fake_clock: FakeClock) -> Any:
    """Builds a started controller (enrolled, with `config` stored) over a fake view."""
    from kiosk.controller import KioskController
    from kiosk.store import Enrollment
    from kiosk.sync import SyncService

    def make(
        config: ConfigResponse | None = None, enrolled: bool = True, **setting_overrides: Any
    ) -> Harness:
        if enrolled:
            store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
        if config is not None:
            store.set_config(config)
        local_settings = replace(settings, **setting_overrides)
        view = FakeView()
        sync = SyncService(store, local_settings)
        controller = KioskController(
            local_settings, store, sync, view, clock=fake_clock, start_sync=False
        )
        controller.start()
        return Harness(controller, fake_clock, view)

    return make


# --- the app in the offscreen window (Kivy is imported only by the tests that use it) ------


@pytest.fixture
def window_size() -> Iterator[None]:
    from kivy.core.window import Window

    from tests.kiosk.window import frames

    Window.size = (800, 480)
    frames()
    yield


@pytest.fixture
def make_kiosk(settings: Settings, store: LocalStore, window_size: None) -> Iterator[Any]:
    """Builds kiosks into the window (enrolled, with `config` stored); closes them after."""
    from kiosk.store import Enrollment
    from tests.kiosk.window import Kiosk

    opened: list[Kiosk] = []

    def make(
        config: ConfigResponse | None = None,
        enrolled: bool = True,
        clock: FakeClock | None = None,
        **setting_overrides: Any,
    ) -> Kiosk:
        if enrolled:
            store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_test", "token"))
        if config is not None:
            store.set_config(config)
        kiosk = Kiosk(replace(settings, **setting_overrides), store, clock=clock)
        opened.append(kiosk)
        return kiosk

    yield make
    for kiosk in opened:
        kiosk.close()


# --- a real server ---------------------------------------------------------------------------


class LiveServer:
    """A Smiletap server in a thread on 127.0.0.1, set up through `smiletap-server` commands."""

    def __init__(self, tmp_path: Path, migrated: Path) -> None:
        from werkzeug.serving import make_server

        from server.app import create_app

        database = tmp_path / "server.db"
        with sqlite3.connect(migrated) as source, sqlite3.connect(database) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        self.database_url = f"sqlite:///{database}"
        self.instance_path = str(tmp_path)
        self.app: Flask | None = None
        self.app = create_app(
            {
                "DATABASE_URL": self.database_url,
                "INSTANCE_PATH": self.instance_path,
                "TESTING": True,
            }
        )
        self.httpd = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.serving: Serving | None = Serving(self.httpd)

    def stop(self) -> None:
        if self.serving is None:
            return
        self.serving, serving = None, self.serving
        serving.stop()
        from server.db import dispose_engine

        dispose_engine(self.app)

    def cli(self, *args: str) -> dict[str, Any]:
        """Run a `smiletap-server` command with `--json`; its JSON answer."""
        from click.testing import CliRunner

        from server.cli import main

        env = {
            "SMILETAP_DATABASE_URL": self.database_url,
            "SMILETAP_INSTANCE_PATH": self.instance_path,
        }
        # Through the running app once there is one: building another per command costs
        # ~0.07 s, and a test runs several.
        result = CliRunner(env=env).invoke(
            main, [*args, "--json"], obj=self.app, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout.strip().splitlines()[-1])

    def setup_location(self, tmp_path: Path) -> dict[str, str]:
        """A location with the test survey assigned and a device with a fresh code."""
        location = self.cli(
            "create-location", "--name", "Test store", "--timezone", "Europe/Warsaw"
        )
        survey_file = tmp_path / "survey.json"
        survey_file.write_text(json.dumps(SURVEY_DEFINITION))
        survey = self.cli("create-survey", "--file", str(survey_file))
        self.cli("assign-survey", "--location", location["id"], "--survey", survey["id"])
        device = self.cli("create-device", "--location", location["id"], "--name", "Front door")
        return {
            "location_id": location["id"],
            "survey_id": survey["id"],
            "survey_version": survey["version"],
            "device_id": device["device_id"],
            "code": device["code"],
        }


@pytest.fixture(scope="session")
def migrated_server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server database migrated once (`smiletap-server migrate`); each live server starts
    from a copy (migrating costs ~0.3 s)."""
    from click.testing import CliRunner

    from server.cli import main

    folder = tmp_path_factory.mktemp("server-template")
    env = {
        "SMILETAP_DATABASE_URL": f"sqlite:///{folder / 'server.db'}",
        "SMILETAP_INSTANCE_PATH": str(folder),
    }
    result = CliRunner(env=env).invoke(main, ["migrate", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder / "server.db"


@pytest.fixture
def live_server(tmp_path: Path, migrated_server_db: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, migrated_server_db)
    yield server
    server.stop()
