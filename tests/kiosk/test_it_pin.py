"""The IT PIN: scrypt hashes, 6+ digits, the setting as a fallback, nothing opens without
either, and an exponential lockout kept in the store (it survives a restart)."""

from __future__ import annotations

import pytest

from kiosk.it_pin import (
    MAX_LOCKOUT_S,
    BadPinError,
    PinGuard,
    PinVerdict,
    check_pin,
    hash_pin,
    pin_is_set,
    pin_matches,
    set_pin,
)
from kiosk.settings import Settings
from kiosk.store import LocalStore


def test_hash_round_trip_and_salting():
    first, second = hash_pin("123456"), hash_pin("123456")
    assert first != second  # salted
    assert pin_matches("123456", first) and not pin_matches("123465", first)
    assert not pin_matches("123456", "garbage")


@pytest.mark.parametrize(
    "pin", ["1234", "12345", "123456789", "12a456", "１２３４５６", "12345\n", ""]
)
def test_bad_pins_are_refused(pin):
    with pytest.raises(BadPinError):
        hash_pin(pin)


def test_setting_is_the_pin_until_one_is_enrolled(store):
    assert not pin_is_set(store, None)
    assert not check_pin(store, "000000", None)
    assert check_pin(store, "246802", "246802") and not check_pin(store, "111111", "246802")
    set_pin(store, "1357913")
    assert check_pin(store, "1357913", "246802") and not check_pin(store, "246802", "246802")


class WallClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_lockout_doubles_and_survives_a_restart(store: LocalStore, settings: Settings) -> None:
    set_pin(store, "246810")
    clock = WallClock()
    guard = PinGuard(store, max_failures=5, lockout_s=60, clock=clock)
    verdicts = [guard.attempt("111111", None) for _ in range(5)]
    assert verdicts == [PinVerdict.WRONG] * 4 + [PinVerdict.LOCKED]
    assert guard.attempt("246810", None) is PinVerdict.LOCKED  # even the right one
    store.close()  # the kiosk restarts (or loses power): the lock is on disk
    reopened = LocalStore(settings.database_path)
    guard = PinGuard(reopened, max_failures=5, lockout_s=60, clock=clock)
    assert guard.locked() and guard.failures == 5
    for lock_s in (60, 120, 240, 480):  # each further wrong PIN locks twice as long
        clock.now += lock_s - 1
        assert guard.attempt("246810", None) is PinVerdict.LOCKED
        clock.now += 1
        assert guard.attempt("111111", None) is PinVerdict.LOCKED
    clock.now += 960
    assert guard.attempt("246810", None) is PinVerdict.ACCEPTED
    assert guard.failures == 0 and not guard.locked()
    assert guard.attempt("111111", None) is PinVerdict.WRONG  # free tries again after success
    reopened.close()


def test_the_lockout_has_a_ceiling_even_if_the_clock_is_set_back(store: LocalStore) -> None:
    set_pin(store, "246810")
    clock = WallClock()
    guard = PinGuard(store, max_failures=1, lockout_s=60, clock=clock)
    assert guard.lockout_for(40) == MAX_LOCKOUT_S
    guard.attempt("111111", None)
    clock.now -= 10 * 365 * 86400  # the clock jumps back ten years
    assert guard.locked_until() == clock.now + MAX_LOCKOUT_S
    clock.now += MAX_LOCKOUT_S
    assert guard.attempt("246810", None) is PinVerdict.ACCEPTED
