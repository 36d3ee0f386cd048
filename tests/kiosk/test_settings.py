"""Settings: declared once, read from SMILETAP_KIOSK_*, documented from the declaration."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from kiosk.settings import SETTINGS, Settings, SettingsError, load_settings, settings_table_markdown


def test_defaults():
    settings = load_settings({"HOME": "/home/kiosk"})
    assert settings.sync_interval_s == 30
    assert settings.heartbeat_interval_s == 60
    assert settings.batch_size == 500
    assert settings.http_timeout_s == 10
    assert settings.data_dir == Path.home() / ".local" / "share" / "smiletap-kiosk"


def test_xdg_data_home_and_overrides():
    settings = load_settings(
        {
            "XDG_DATA_HOME": "/xdg",
            "SMILETAP_KIOSK_SYNC_INTERVAL_S": "5",
            "SMILETAP_KIOSK_BATCH_SIZE": "50",
        }
    )
    assert settings.data_dir == Path("/xdg/smiletap-kiosk")
    assert settings.sync_interval_s == 5.0
    assert settings.batch_size == 50
    assert load_settings({"SMILETAP_KIOSK_DATA_DIR": "/data"}).data_dir == Path("/data")


def test_batch_size_is_capped_at_the_protocol_limit():
    assert load_settings({"SMILETAP_KIOSK_BATCH_SIZE": "9000"}).batch_size == 500


@pytest.mark.parametrize("raw", ["abc", "0", "-3"])
def test_bad_values_name_the_variable(raw):
    with pytest.raises(SettingsError, match="SMILETAP_KIOSK_HTTP_TIMEOUT_S"):
        load_settings({"SMILETAP_KIOSK_HTTP_TIMEOUT_S": raw})


def test_every_setting_is_a_field_and_documented():
    assert {s.name.lower() for s in SETTINGS} == {f.name for f in fields(Settings)}
    table = settings_table_markdown()
    for setting in SETTINGS:
        assert f"`{setting.env_var}`" in table
        assert setting.help in table
