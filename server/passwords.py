"""Dashboard passwords: argon2id hashes and the rules a new password must meet."""

from __future__ import annotations

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

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class WeakPassword(ValueError):
    """A new password does not meet the rules."""


def check_new_password(password: str, email: str = "") -> None:
    """Raise WeakPassword with a reason when the password may not be used."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (email and lowered == email.lower()):
        raise WeakPassword("this password is too common; choose another")
    if len(set(password)) < 3:
        raise WeakPassword("this password is too easy to guess; choose another")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash (never raises on a mismatch or a bad hash)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


#: Verified against when the e-mail is unknown, so both answers take the same time.
DUMMY_HASH = hash_password("smiletap-no-such-user")
