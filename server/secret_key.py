"""The Flask secret key: the configured one, checked, or one generated into the instance folder.

Whoever knows the key can forge a dashboard session (an admin's included), so the server
refuses to start with a key anyone could know — an example from our docs or a short one —
and, when none is set, makes a strong one once and keeps it in `<instance>/secret_key`
(mode 0600), where every process of the server and every later start finds it. Losing the
file only signs everyone out.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from server.settings import SettingsError

KEY_FILE = "secret_key"
MIN_LENGTH = 32
MIN_DISTINCT = 10  # 32 times the same letter is long but no secret
#: Keys printed in our examples and docs, and the usual placeholders: a test checks that every
#: SMILETAP_SECRET_KEY value in the repository's example files is in here.
KNOWN_KEYS = frozenset(
    {"dev", "development", "change-me", "changeme", "change_me", "secret", "secret-key"}
)


class InsecureSecretKeyError(SettingsError):
    """The secret key is a known example, too short, or its file cannot be used."""


def check(key: str, where: str = "SMILETAP_SECRET_KEY") -> str:
    """The key when nobody could guess it, or `InsecureSecretKeyError` naming where it came from."""
    if key.strip().lower() in KNOWN_KEYS:
        raise InsecureSecretKeyError(
            f"{where}: {key!r} is a published example; set a long random value or leave it "
            f"unset to have one generated"
        )
    if len(key.strip()) < MIN_LENGTH or len(set(key)) < MIN_DISTINCT:
        raise InsecureSecretKeyError(
            f"{where}: {len(key.strip())} characters, {len(set(key))} different; use at least "
            f"{MIN_LENGTH} random ones, or leave it unset to have one generated"
        )
    return key


def load_or_create(instance_path: str) -> str:
    """The key kept in the instance folder, made on first use (several processes may race)."""
    folder = Path(instance_path)
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        # Written in full under a private name, then linked: a racing process either wins the
        # link or reads the winner's complete file, never a half-written one.
        draft = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InsecureSecretKeyError(
            f"{path}: cannot read the secret key ({exc}); it must be readable by the user "
            f"the server runs as"
        ) from None
    return check(key, str(path))


def resolve(configured: str | None, instance_path: str) -> str:
    """The key to sign sessions with: the configured one if safe, else the instance folder's."""
    if configured:
        return check(configured)
    return load_or_create(instance_path)
