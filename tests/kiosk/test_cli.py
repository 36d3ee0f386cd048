"""`smiletap-kiosk`: one clear line on success and on failure, exit codes, status JSON."""

from __future__ import annotations

import io
import json
import platform

import pytest

from kiosk.cli import KIVY_DEFAULTS, build_parser, heap_trimmer, main
from kiosk.settings import SETTINGS
from kiosk.store import LocalStore


def test_enroll_prints_one_line(live_server, tmp_path, capsys):
    ids = live_server.setup_location(tmp_path)
    data_dir = tmp_path / "kiosk"
    code = main(
        ["enroll", "--server", live_server.url, "--code", ids["code"], "--data-dir", str(data_dir)]
    )
    out, _err = capsys.readouterr()
    assert code == 0
    assert out == f"enrolled as device {ids['device_id']} at {live_server.url}\n"
    store = LocalStore(data_dir / "kiosk.db")
    try:
        assert store.get_config() is not None
    finally:
        store.close()


def test_enroll_with_a_bad_code_fails_cleanly(live_server, tmp_path, capsys):
    code = main(
        ["enroll", "--server", live_server.url, "--code", "NOPE-NOPE", "--data-dir", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err == "error: that code is not valid or has expired\n"


def test_enroll_with_no_server_fails_cleanly(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SMILETAP_KIOSK_HTTP_TIMEOUT_S", "2")
    code = main(
        ["enroll", "--server", "http://127.0.0.1:9", "--code", "X", "--data-dir", str(tmp_path)]
    )
    _out, err = capsys.readouterr()
    assert code == 1
    assert err == "error: can't reach the server at http://127.0.0.1:9\n"
    assert "Traceback" not in err


def test_enroll_refuses_plain_http_to_another_machine_unless_allowed(tmp_path, capsys, monkeypatch):
    args = ["enroll", "--server", "http://192.0.2.1:9", "--code", "X", "--data-dir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: http://192.0.2.1:9: the device token would travel unencrypted")
    assert err.count("\n") == 1
    monkeypatch.setenv("SMILETAP_KIOSK_HTTP_TIMEOUT_S", "1")
    assert main([*args, "--allow-http"]) == 1  # let through: it tried the network
    assert capsys.readouterr().err == "error: can't reach the server at http://192.0.2.1:9\n"
    monkeypatch.setenv("SMILETAP_KIOSK_ALLOW_HTTP", "yes")
    assert main(args) == 1
    assert "can't reach" in capsys.readouterr().err


def test_bad_setting_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SMILETAP_KIOSK_BATCH_SIZE", "lots")
    assert main(["status", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: SMILETAP_KIOSK_BATCH_SIZE=")


def test_status_json(tmp_path, capsys):
    assert main(["status", "--json", "--data-dir", str(tmp_path)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "unenrolled"
    assert status["backlog"] == 0
    assert status["data_dir"] == str(tmp_path)
    assert {"last_sync_at", "last_error", "rejected_count", "oldest_pending_at"} <= set(status)


def test_help_lists_every_setting():
    text = build_parser().format_help()
    for setting in SETTINGS:
        assert setting.env_var in text


def test_heap_trimmer_is_glibcs_malloc_trim():
    trim = heap_trimmer()
    if platform.libc_ver()[0] != "glibc":
        assert trim is None
        return
    assert trim is not None
    assert trim(0) in (0, 1)  # 1: pages went back to the system


def test_kivy_defaults_yield_to_kcfg_variables(monkeypatch):
    from kivy.config import Config

    from kiosk.cli import apply_kivy_defaults

    saved = {key: Config.get(*key) for key in KIVY_DEFAULTS}
    try:
        apply_kivy_defaults({"KCFG_GRAPHICS_FULLSCREEN": "0"})
        assert Config.get("graphics", "borderless") == "1"
        assert Config.get("graphics", "fullscreen") == saved[("graphics", "fullscreen")]
    finally:
        for (section, key), value in saved.items():
            Config.set(section, key, value)


def test_enroll_pin_stores_only_a_hash(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("482193\n"))
    assert main(["enroll", "--pin-stdin", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "IT PIN set\n"
    from kiosk.it_pin import STATE_KEY, check_pin

    store = LocalStore(tmp_path / "kiosk.db")
    try:
        stored = store.get_state(STATE_KEY)
        assert stored.startswith("scrypt$") and "482193" not in stored
        assert check_pin(store, "482193", fallback="999999")  # the enrolled PIN wins
        assert not check_pin(store, "999999", fallback="999999")
    finally:
        store.close()


def test_enroll_refuses_a_bad_pin_or_nothing_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))  # 4 digits: too few now
    assert main(["enroll", "--pin-stdin", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "error: the IT PIN must be 6 to 8 digits (read from stdin)\n"
    with pytest.raises(SystemExit):  # the PIN never goes on the command line
        main(["enroll", "--pin", "123456", "--data-dir", str(tmp_path)])
    assert main(["enroll", "--data-dir", str(tmp_path)]) == 2
    assert main(["enroll", "--server", "http://x", "--data-dir", str(tmp_path)]) == 2


def test_kivy_reads_input_from_x_only(monkeypatch):
    """Kivy's Linux default also opens touch panels in /dev/input (probesysfs): with X
    reading them too, one touch would be two presses."""
    from kivy.config import Config

    from kiosk.cli import KIVY_INPUT_PROVIDERS, apply_kivy_defaults

    saved = Config.items("input")
    try:
        Config.set("input", "%(name)s", "probesysfs")
        Config.set("input", "panel", "hidinput,/dev/input/event3")
        apply_kivy_defaults({"KCFG_INPUT_PANEL": "hidinput,/dev/input/event3"})
        assert dict(Config.items("input")) == {
            "mouse": "mouse,multitouch_on_demand",
            "panel": "hidinput,/dev/input/event3",  # asked for explicitly: kept
        }
        apply_kivy_defaults({})
        assert [key for key, _ in Config.items("input")] == list(KIVY_INPUT_PROVIDERS)
    finally:
        for key in Config.options("input"):
            Config.remove_option("input", key)
        for key, value in saved:
            Config.set("input", key, value)


def test_flush_without_a_database_or_enrollment_sends_nothing(tmp_path, capsys):
    assert main(["flush", "--data-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == "flush: no kiosk database: nothing to send\n"
    LocalStore(tmp_path / "kiosk.db").close()
    assert main(["flush", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "flush: not sending (unenrolled); backlog 0\n"
    assert main(["flush", "--data-dir", str(tmp_path), "--timeout", "0"]) == 2
    assert "--timeout must be a positive" in capsys.readouterr().err
