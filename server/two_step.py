"""Two-step sign-in for local accounts: TOTP codes (RFC 6238, via pyotp) and recovery codes.

A code is accepted for the current 30-second step and one step either side (a phone's clock a
little off), and each step only once: the step of the last accepted code is stored, so a code
seen over a shoulder cannot be replayed. Recovery codes are one-time, hashed with argon2id like
passwords, and shown only when made.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import Connection

from server import passwords
from server.store import two_step
from shared.clock import utcnow

ISSUER = "Smiletap"
#: Steps either side of now whose code is still accepted.
VALID_WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_HALF = 5


def new_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step whose code this is (within the window), or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    moment = now or utcnow()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = totp.timecode(moment) + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten one-time codes like `k7dqm-x3fa9`, to be shown once and stored hashed."""

    def half() -> str:
        return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_HALF))

    return [f"{half()}-{half()}" for _ in range(RECOVERY_CODES)]


def _normal_recovery_code(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def hash_recovery_codes(codes: list[str], memory_kib: int) -> list[str]:
    """The argon2id hashes stored for these codes (hyphens and case do not count)."""
    return [passwords.hash_password(_normal_recovery_code(c), memory_kib) for c in codes]


def check(conn: Connection, user_id: str, code: str, now: datetime | None = None) -> bool:
    """Whether this TOTP or recovery code signs the user in; using it spends it."""
    found = two_step.secret(conn, user_id)
    if found is None:
        return False
    step = matching_step(found[0], code, now)
    if step is not None:
        return two_step.use_step(conn, user_id, step)
    typed = _normal_recovery_code(code)
    if len(typed) != 2 * _RECOVERY_HALF:
        return False
    for code_id, code_hash in two_step.unused_recovery_codes(conn, user_id):
        if passwords.verify_password(code_hash, typed):
            return two_step.use_recovery_code(conn, code_id)
    return False
