"""The secret key: generated once into the instance folder, known or short keys refused."""

from __future__ import annotations

import json
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from server import secret_key
from server.app import create_app
from server.cli import main
from server.db import dispose_engine
from server.secret_key import InsecureSecretKeyError
from tests.server.conftest import Cli
from tests.server.dashboard.conftest import create_user

ROOT = Path(__file__).resolve().parents[2]


def test_no_key_set_makes_a_strong_one_once_and_keeps_it(tmp_path: Path) -> None:
    first = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 64
    assert first.config["SECRET_KEY"] == key_file.read_text().strip()
    again = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    elsewhere = create_app({"INSTANCE_PATH": str(tmp_path / "other")})
    assert elsewhere.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    # gunicorn's workers start at once on a fresh instance folder: one key wins, all read it.
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: secret_key.load_or_create(str(tmp_path)), range(16)))
    assert len(keys) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no drafts left


@pytest.mark.parametrize(
    "key", ["dev", "change-me", "CHANGE-ME", "0123456789abcdef", " " * 40, "a" * 64]
)
def test_known_or_short_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(InsecureSecretKeyError, match="SMILETAP_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": key})


def test_a_damaged_key_file_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(InsecureSecretKeyError, match="secret_key: 5 characters"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def _example_keys() -> set[str]:
    """Every SMILETAP_SECRET_KEY value written in the repository's examples and docs."""
    files = [*ROOT.glob("deploy/**/*"), *ROOT.glob("docs/**/*.md"), ROOT / "README.md"]
    pattern = re.compile(r"SMILETAP_SECRET_KEY=([^\s`'\"]+)")
    found = set()
    for path in files:
        if path.is_file() and path.suffix in ("", ".md", ".example", ".sh", ".py", ".service"):
            found.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def test_every_key_in_our_examples_is_refused() -> None:
    for key in _example_keys() | {"dev", "change-me"}:
        with pytest.raises(InsecureSecretKeyError):
            secret_key.check(key)


def test_the_command_refuses_to_start_with_an_example_key(tmp_path: Path) -> None:
    env = {"SMILETAP_INSTANCE_PATH": str(tmp_path), "SMILETAP_SECRET_KEY": "change-me"}
    result = CliRunner().invoke(main, ["migrate"], env=env)
    assert result.exit_code == 1
    assert "Error: SMILETAP_SECRET_KEY: 'change-me' is a published example" in result.output
    assert "Traceback" not in result.output


def _forged_cookie(user_id: str, key: str) -> str:
    """A session cookie for this user signed with `key`, as an attacker would make it."""
    forger = Flask("forger")
    forger.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    return str(serializer.dumps({"uid": user_id, "sv": 1}))


def test_a_session_forged_with_the_old_default_key_is_refused(
    database_url: str, tmp_path: Path, runner: Cli
) -> None:
    # The review forged an admin cookie with the default key `dev`; with no key set, the
    # server now signs with its own random one.
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    try:
        made = create_user(runner, "it@example.com", "admin")
        assert made.exit_code == 0, made.output
        user_id = json.loads(made.stdout)["id"]
        client = app.test_client()
        client.set_cookie("smiletap_session", _forged_cookie(user_id, "dev"))
        answer = client.get("/dashboard/")
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
        # The same cookie signed with the server's real key is accepted: the forgery test
        # above fails for the key, not for a mistake in the cookie.
        client.set_cookie("smiletap_session", _forged_cookie(user_id, app.config["SECRET_KEY"]))
        assert client.get("/dashboard/").status_code == 200
    finally:
        dispose_engine(app)
