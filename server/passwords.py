"""Dashboard passwords: argon2id hashes and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 128

#: A short list of the passwords people pick first; a stolen-password list would be longer.
_COMMON = """
    password password1 password12 password123 passw0rd p@ssw0rd p@ssword 12345678 123456789
    1234567890 87654321 11111111 00000000 12341234 123123123 1q2w3e4r 1q2w3e4r5t qwertyui
    qwerty12 qwerty123 qwertyuiop asdfghjk asdfasdf zxcvbnm1 iloveyou iloveyou1 sunshine
    princess football baseball welcome1 welcome123 letmein1 letmein123 trustno1 superman
    starwars dragon12 monkey12 abc12345 abcd1234 aa123456 changeme changeme1 admin123
    administrator smiletap smiletap1 smiletap123 qazwsxedc michael1 jennifer charlie1
    computer internet whatever liverpool chelsea1 arsenal1 master12 shadow12 freedom1
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())

#: The library's recommended argon2id memory cost (KiB): the default of PASSWORD_HASH_MEMORY_KIB.
FULL_MEMORY_KIB = PasswordHasher().memory_cost
#: The fewest KiB argon2 takes with the library's parallelism (8 per lane).
MIN_MEMORY_KIB = 8 * PasswordHasher().parallelism


class WeakPasswordError(ValueError):
    """A new password does not meet the rules."""


def check_new_password(password: str, email: str = "") -> None:
    """Raise WeakPasswordError with a reason when the password may not be used."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (email and lowered == email.lower()):
        raise WeakPasswordError("this password is too common; choose another")
    if len(set(password)) < 3:
        raise WeakPasswordError("this password is too easy to guess; choose another")


@cache
def _hasher(memory_kib: int) -> PasswordHasher:
    # argon2id with the library's parameters but for the memory, which a setting may lower
    # (tests, a very small machine); verifying reads the cost from the hash itself.
    return PasswordHasher(memory_cost=max(memory_kib, MIN_MEMORY_KIB))


def hash_password(password: str, memory_kib: int = FULL_MEMORY_KIB) -> str:
    """An argon2id hash of the password, using `memory_kib` KiB (PASSWORD_HASH_MEMORY_KIB)."""
    return _hasher(memory_kib).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash (never raises on a mismatch or a bad hash)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher(FULL_MEMORY_KIB).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash(memory_kib: int = FULL_MEMORY_KIB) -> str:
    """Verified against when the e-mail is unknown, so both answers take the same time.

    Made on first use, not at import: every CLI command imports this module.
    """
    return hash_password("smiletap-no-such-user", memory_kib)
