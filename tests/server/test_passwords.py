"""Password hashes: full argon2id cost by default, a lower one only where a setting asks."""

from __future__ import annotations

from argon2 import PasswordHasher
from flask import Flask

from server import passwords
from server.app import create_app
from server.db import get_db
from server.store import users
from tests.server.conftest import Cli
from tests.server.dashboard.conftest import create_user


def test_the_default_cost_is_the_librarys_recommendation(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SMILETAP_PASSWORD_HASH_MEMORY_KIB", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["PASSWORD_HASH_MEMORY_KIB"] == PasswordHasher().memory_cost == 65536
    hashed = passwords.hash_password("correct horse battery")
    assert "$m=65536," in hashed
    assert passwords.verify_password(hashed, "correct horse battery")


def test_a_lower_cost_is_used_and_still_verifies() -> None:
    hashed = passwords.hash_password("correct horse battery", 64)
    assert hashed.startswith("$argon2id$") and "$m=64," in hashed
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "wrong horse battery")
    assert "$m=64," in passwords.dummy_hash(64)


def test_a_cost_below_argon2s_floor_is_raised_to_it() -> None:
    assert f"$m={passwords.MIN_MEMORY_KIB}," in passwords.hash_password("x" * 8, 1)


def test_the_create_user_command_hashes_at_the_set_cost(app: Flask, runner: Cli) -> None:
    """The tests run with SMILETAP_PASSWORD_HASH_MEMORY_KIB=64 (tests/conftest.py)."""
    assert app.config["PASSWORD_HASH_MEMORY_KIB"] == 64
    assert create_user(runner, "it@example.com", "admin").exit_code == 0
    with app.app_context():
        found = users.credentials(get_db(), "it@example.com")
    assert found is not None and "$m=64," in found[1]
