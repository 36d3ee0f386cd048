"""The IT PIN that guards the status screen and the way out of the kiosk (no Kivy here).

`smiletap-kiosk enroll --pin-stdin` stores an scrypt hash of the PIN (6 to 8 digits) in the
store's state table; the PIN itself is never stored. Until one is enrolled, the setting
`SMILETAP_KIOSK_IT_PIN` (e.g. from a provisioning script's environment) is the PIN. With
neither, the PIN pad accepts nothing: IT must enroll one from a shell first.

`PinGuard` decides each attempt at the pad: wrong PINs in a row are counted, and from the
`max_failures`-th on each one locks the pad — for `lockout_s`, then twice as long after each
further wrong PIN, up to `MAX_LOCKOUT_S` (the kiosk's settings `PIN_MAX_FAILURES` and
`PIN_LOCKOUT_S`). The count and the end of the lock are kept in the store, so restarting the
kiosk (or pulling its plug) neither forgets them nor unlocks the pad; the right PIN clears
them. Time comes from an injected wall clock (seconds since the epoch), which, unlike a
monotonic one, means the same across restarts; a lock that ends further ahead than
`MAX_LOCKOUT_S` (the clock was set back) is cut to that. With 6-digit PINs and 5 free tries,
trying every PIN would take centuries.
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
PIN_PATTERN = re.compile(r"^[0-9]{6,8}$")
#: State keys of the lockout: wrong PINs in a row, and when the lock ends (epoch seconds).
FAILURES_KEY = "it_pin_failures"
LOCKED_UNTIL_KEY = "it_pin_locked_until"
#: The longest a lock lasts, however many wrong PINs came before.
MAX_LOCKOUT_S = 24 * 3600.0

# scrypt cost: about 50 ms on a Raspberry Pi 4, cheap enough for one check per PIN entry.
_N, _R, _P = 2**14, 8, 1


class BadPinError(ValueError):
    """A PIN that is not 6 to 8 digits."""


def check_pin_format(pin: str) -> str:
    """`pin` if it is 6 to 12 ASCII digits, else `BadPinError`."""
    if not PIN_PATTERN.match(pin):
        raise BadPinError("the IT PIN must be 6 to 8 digits")
    return pin


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """`scrypt$<n>$<salt hex>$<hash hex>` for a PIN of 6 to 8 digits."""
    check_pin_format(pin)
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


def failures_in_a_row(store: LocalStore) -> int:
    """Wrong PINs typed at the pad since the last right one (the heartbeat reports it)."""
    raw = store.get_state(FAILURES_KEY)
    return int(raw) if raw and raw.isascii() and raw.isdigit() else 0


class PinVerdict(StrEnum):
    """What the pad does with one attempt."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    NO_PIN = "no_pin"  # no PIN is set at all: nothing can be right
    LOCKED = "locked"  # too many wrong ones: refused without being checked


class PinGuard:
    """Checks PINs typed at the pad and locks the pad, longer and longer, after wrong ones."""

    def __init__(
        self,
        store: LocalStore,
        *,
        max_failures: int,
        lockout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.clock = clock

    @property
    def failures(self) -> int:
        """Wrong PINs in a row since the last right one (kept in the store)."""
        return failures_in_a_row(self.store)

    def locked_until(self) -> float:
        """When the current lock ends (epoch seconds; 0 when there is none)."""
        try:
            until = float(self.store.get_state(LOCKED_UNTIL_KEY) or 0)
        except ValueError:
            return 0.0
        ceiling = self.clock() + MAX_LOCKOUT_S
        if until > ceiling:  # the clock was set back: cut the lock, and keep the cut
            until = ceiling
            self.store.set_state(**{LOCKED_UNTIL_KEY: str(until)})
        return until

    def locked(self) -> bool:
        """Whether the pad refuses every PIN right now."""
        return self.clock() < self.locked_until()

    def lockout_for(self, failures: int) -> float:
        """How long the pad locks after `failures` wrong PINs in a row (0: not at all)."""
        if failures < self.max_failures:
            return 0.0
        return min(self.lockout_s * 2.0 ** min(failures - self.max_failures, 32), MAX_LOCKOUT_S)

    def attempt(self, pin: str, fallback: str | None) -> PinVerdict:
        """One PIN typed at the pad (`fallback`: the `IT_PIN` setting)."""
        if self.locked():
            return PinVerdict.LOCKED
        if check_pin(self.store, pin, fallback):
            self.store.set_state(**{FAILURES_KEY: None, LOCKED_UNTIL_KEY: None})
            return PinVerdict.ACCEPTED
        failures = self.failures + 1
        lock = self.lockout_for(failures)
        until = str(self.clock() + lock) if lock else None
        self.store.set_state(**{FAILURES_KEY: str(failures), LOCKED_UNTIL_KEY: until})
        if lock:
            return PinVerdict.LOCKED
        return PinVerdict.WRONG if pin_is_set(self.store, fallback) else PinVerdict.NO_PIN
