"""Two-step sign-in: set up with a QR code, codes after the password, recovery codes, off."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from flask.testing import FlaskClient

from server import two_step
from server.dashboard import account
from shared.clock import utcnow
from tests.server.conftest import Cli
from tests.server.dashboard.conftest import PASSWORD, Chain, csrf_token, login, post

SECRET = re.compile(r'id="totp-secret">([^<]+)<')
CODES = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")
#: The time step of the code that confirmed each secret (its code is spent).
_STEPS: dict[str, int] = {}


def _code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def _turn_on(client: FlaskClient) -> tuple[str, list[str]]:
    """Set two-step up as a user would; return the secret and the recovery codes."""
    page = client.get("/account/two-step/").get_data(as_text=True)
    assert "<svg" in page  # the QR code
    found = SECRET.search(page)
    assert found
    secret = found.group(1).replace(" ", "")
    assert pyotp.TOTP(secret).now()  # a valid base32 secret
    wrong = post(client, "/account/two-step/confirm", {"code": "000000"}, "/account/two-step/")
    assert wrong.status_code == 400 and "does not match" in wrong.get_data(as_text=True)
    # The same secret is offered again after a wrong code: the app scanned it already.
    assert secret in client.get("/account/two-step/").get_data(as_text=True).replace(" ", "")
    _STEPS[secret] = pyotp.TOTP(secret).timecode(utcnow())
    code = pyotp.TOTP(secret).generate_otp(_STEPS[secret])
    done = post(client, "/account/two-step/confirm", {"code": code}, "/account/two-step/")
    assert done.status_code == 200
    codes = CODES.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def _code_step(client: FlaskClient, code: str) -> object:
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": token})


def test_code_after_password_window_and_no_replay(chain: Chain) -> None:
    client = chain.client("manager")
    secret, _codes = _turn_on(client)
    assert "Turn off two-step" in client.get("/account/two-step/").get_data(as_text=True)

    fresh = chain.client(None)
    answer = login(fresh, "anna@example.com")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login/code")
    assert fresh.get("/dashboard/").status_code == 302  # the password alone signs no one in
    assert _code_step(fresh, "123456").status_code == 401
    assert _code_step(fresh, _code(secret, -3)).status_code == 401  # 90 s old: outside the window
    # The confirming code's step is spent (whether or not a new step began since); the step
    # after it is within the window.
    confirmed = _STEPS[secret]
    totp = pyotp.TOTP(secret)
    assert _code_step(fresh, totp.generate_otp(confirmed)).status_code == 401
    answer = _code_step(fresh, totp.generate_otp(confirmed + 1))
    assert (answer.status_code, answer.headers["Location"]) == (302, "/dashboard/")
    assert fresh.get("/dashboard/").status_code == 200

    again = chain.client(None)
    login(again, "anna@example.com")
    replayed = totp.generate_otp(confirmed + 1)
    assert _code_step(again, replayed).status_code == 401
    assert again.get("/dashboard/").status_code == 302


def test_recovery_code_works_once(chain: Chain) -> None:
    client = chain.client("manager")
    _secret, codes = _turn_on(client)
    first = chain.client(None)
    login(first, "anna@example.com")
    answer = _code_step(first, " " + codes[3].upper() + " ")  # case and spaces do not count
    assert (answer.status_code, answer.headers["Location"]) == (302, "/dashboard/")
    second = chain.client(None)
    login(second, "anna@example.com")
    assert _code_step(second, codes[3]).status_code == 401
    assert _code_step(second, codes[4].replace("-", "")).status_code == 302


def test_next_survives_the_code_step(chain: Chain) -> None:
    client = chain.client("manager")
    secret, _codes = _turn_on(client)
    fresh = chain.client(None)
    token = csrf_token(fresh)
    target = f"/dashboard/locations/{chain.a}"
    form = {"email": "anna@example.com", "password": PASSWORD, "csrf_token": token}
    assert fresh.post("/login", data={**form, "next": target}).status_code == 302
    assert _code_step(fresh, _code(secret, 1)).headers["Location"] == target


def test_wrong_codes_slow_down_like_passwords(chain: Chain) -> None:
    client = chain.client("manager")
    _turn_on(client)
    fresh = chain.client(None)
    login(fresh, "anna@example.com")
    statuses = [_code_step(fresh, "000001").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_code_step_expires(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    client = chain.client("manager")
    _turn_on(client)
    monkeypatch.setattr(account, "PENDING_S", -1)
    fresh = chain.client(None)
    login(fresh, "anna@example.com")
    answer = fresh.get("/login/code")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login")
    assert fresh.get("/dashboard/").status_code == 302


def test_turn_off_needs_password_and_code(chain: Chain) -> None:
    client = chain.client("manager")
    secret, codes = _turn_on(client)
    page = "/account/two-step/"
    wrong = post(
        client, "/account/two-step/disable", {"password": "nope", "code": _code(secret, 1)}, page
    )
    assert wrong.status_code == 400
    wrong = post(
        client, "/account/two-step/disable", {"password": PASSWORD, "code": "999999"}, page
    )
    assert wrong.status_code == 400
    right = post(
        client, "/account/two-step/disable", {"password": PASSWORD, "code": codes[0]}, page
    )
    assert right.status_code == 302
    assert "Turn on" in client.get(page).get_data(as_text=True)
    fresh = chain.client(None)
    assert login(fresh, "anna@example.com").headers["Location"] == "/dashboard/"


def test_matching_step_accepts_one_step_either_side() -> None:
    secret = two_step.new_secret()
    now = utcnow()
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = totp.at(now + timedelta(seconds=30 * offset))
        assert (two_step.matching_step(secret, code, now) == here + offset) is accepted
    assert two_step.matching_step(secret, "12345", now) is None
    assert two_step.matching_step(secret, "abcdef", now) is None


def test_admin_resets_a_lost_phone_from_the_shell(chain: Chain, runner: Cli) -> None:
    client = chain.client("manager")
    _turn_on(client)
    assert runner.json("reset-two-step", "--email", "Anna@example.com") == {
        "email": "anna@example.com",
        "two_step": False,
    }
    assert client.get("/dashboard/").status_code == 302  # their sessions ended
    fresh = chain.client(None)
    assert login(fresh, "anna@example.com").headers["Location"] == "/dashboard/"
    missing = runner.invoke("reset-two-step", "--email", "nobody@example.com")
    assert missing.exit_code != 0 and "--email: no user" in missing.output
