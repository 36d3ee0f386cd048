"""The dashboard's opening-hours form (`is_open` is tested in tests/shared)."""

from __future__ import annotations

import pytest

from server.opening_hours import BadHoursError, parse_form


def test_parse_form() -> None:
    assert parse_form({"open_1": "08:00", "close_1": "20:00", "open_2": ""}) == {
        "1": ["08:00", "20:00"]
    }
    assert parse_form({"always_open": "1", "open_1": "x"}) is None
    with pytest.raises(BadHoursError) as caught:
        parse_form({"open_7": "8:00", "close_7": "20:00"})
    assert caught.value.field == "open_7" and "Sunday" in str(caught.value)
