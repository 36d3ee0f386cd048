"""The IT PIN that guards the status screen and the way out of the kiosk (no Kivy here).

`smiletap-kiosk enroll --pin NNNN` stores an scrypt hash of the PIN in the store's state
table; the PIN itself is never stored. Until one is enrolled, the setting
`SMILETAP_KIOSK_IT_PIN` (e.g. from a provisioning script's environment) is the PIN. With
neither, the PIN pad accepts nothing: IT must enroll one from a shell first.

`PinGuard` decides each attempt at the pad: wrong PINs are counted, and after
`max_failures` in a row every PIN is refused for `lockout_s` (the kiosk's settings
`PIN_MAX_FAILURES` and `PIN_LOCKOUT_S`), timed by an injected monotonic clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from enum import StrEnum

from kiosk.store import LocalStore

STATE_KEY = "it_pin_hash"
PIN_PATTERN = re.compile(r"^\d{4,8}$")

# scrypt cost: about 50 ms on a Raspberry Pi 4, cheap enough for one check per PIN entry.
_N, _R, _P = 2**14, 8, 1


class BadPin(ValueError):
    """A PIN that is not 4 to 8 digits."""


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """`scrypt$<n>$<salt hex>$<hash hex>` for a PIN of 4 to 8 digits."""
    if not PIN_PATTERN.match(pin):
        raise BadPin("the IT PIN must be 4 to 8 digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """Whether `pin` is the one `stored` (from `hash_pin`) was made from."""
    try:
        scheme, n, salt_hex, digest_hex = stored.split("$")
        digest = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=_R, p=_P, dklen=32
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(digest.hex(), digest_hex)


def set_pin(store: LocalStore, pin: str) -> None:
    """Enroll a new IT PIN (hashed)."""
    store.set_state(**{STATE_KEY: hash_pin(pin)})


def pin_is_set(store: LocalStore, fallback: str | None) -> bool:
    """Whether any PIN can open the status screen."""
    return bool(store.get_state(STATE_KEY) or fallback)


def check_pin(store: LocalStore, pin: str, fallback: str | None) -> bool:
    """The enrolled PIN if there is one, else the `SMILETAP_KIOSK_IT_PIN` setting."""
    stored = store.get_state(STATE_KEY)
    if stored:
        return pin_matches(pin, stored)
    if fallback:
        return hmac.compare_digest(pin.encode(), fallback.encode())
    return False


class PinVerdict(StrEnum):
    """What the pad does with one attempt."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    NO_PIN = "no_pin"  # no PIN is set at all: nothing can be right
    LOCKED = "locked"  # too many wrong ones: refused without being checked


class PinGuard:
    """Checks PINs typed at the pad and locks the pad after too many wrong ones."""

    def __init__(
        self,
        store: LocalStore,
        *,
        max_failures: int,
        lockout_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.monotonic = monotonic
        self.failures = 0
        self.locked_until = 0.0

    def locked(self) -> bool:
        """Whether the pad refuses every PIN right now."""
        return self.monotonic() < self.locked_until

    def attempt(self, pin: str, fallback: str | None) -> PinVerdict:
        """One PIN typed at the pad (`fallback`: the `IT_PIN` setting)."""
        if self.locked():
            return PinVerdict.LOCKED
        if check_pin(self.store, pin, fallback):
            self.failures = 0
            return PinVerdict.ACCEPTED
        self.failures += 1
        if self.failures >= self.max_failures:
            self.failures = 0
            self.locked_until = self.monotonic() + self.lockout_s
            return PinVerdict.LOCKED
        return PinVerdict.WRONG if pin_is_set(self.store, fallback) else PinVerdict.NO_PIN
