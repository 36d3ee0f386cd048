"""The IT PIN: scrypt hashes, the setting as a fallback, nothing opens without either."""

from __future__ import annotations

import pytest

from kiosk.it_pin import BadPin, check_pin, hash_pin, pin_is_set, pin_matches, set_pin


def test_hash_round_trip_and_salting():
    first, second = hash_pin("1234"), hash_pin("1234")
    assert first != second  # salted
    assert pin_matches("1234", first) and not pin_matches("1243", first)
    assert not pin_matches("1234", "garbage")


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", ""])
def test_bad_pins_are_refused(pin):
    with pytest.raises(BadPin):
        hash_pin(pin)


def test_setting_is_the_pin_until_one_is_enrolled(store):
    assert not pin_is_set(store, None)
    assert not check_pin(store, "0000", None)
    assert check_pin(store, "2468", "2468") and not check_pin(store, "1111", "2468")
    set_pin(store, "13579")
    assert check_pin(store, "13579", "2468") and not check_pin(store, "2468", "2468")
