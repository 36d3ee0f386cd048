"""Single sign-on without the browser: the sign-in page's button, password sign-in turned off,
an unreachable provider, and who the provider's claims let in (SQLite and PostgreSQL).

The whole sign-in against a real OpenID provider is tests/e2e/test_sso_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from server import settings, sso
from server.app import create_app
from server.db import dispose_engine, get_db
from server.store import users
from tests.server.conftest import Cli
from tests.server.dashboard.conftest import PASSWORD, create_user, csrf_token

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def sso_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "OIDC_ISSUER": UNREACHABLE,
            "OIDC_CLIENT_ID": "smiletap",
            "OIDC_NAME": "Acme",
            "PASSWORD_LOGIN": False,
        }
    )
    yield app
    dispose_engine(app)


def test_without_single_sign_on_no_button_and_404(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


def test_button_password_off_and_provider_down(sso_app: Flask, runner: Cli) -> None:
    assert create_user(runner, "anna@example.com", "admin").exit_code == 0
    client = sso_app.test_client()
    settings.override(sso_app, password_login=True)
    token = csrf_token(client)  # the form's token, from before the form was turned off
    settings.override(sso_app, password_login=False)
    answer = client.get("/login?next=/dashboard/alerts/")
    page = answer.get_data(as_text=True)
    assert "Sign in with Acme" in page and 'name="password"' not in page
    assert 'href="/login/sso?next=/dashboard/alerts/"' in page
    # Signing out may send the browser on to the provider: the CSP allows that form target.
    assert f"form-action 'self' {UNREACHABLE}" in answer.headers["Content-Security-Policy"]
    form = {"email": "anna@example.com", "password": PASSWORD, "csrf_token": token}
    refused = client.post("/login", data=form)
    assert refused.status_code == 403 and "turned off" in refused.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302
    down = client.get("/login/sso")
    assert down.status_code == 502 and "cannot be reached" in down.get_data(as_text=True)
    # A callback that this browser never started is refused, not a 500.
    stray = client.get("/login/sso/callback?code=x&state=forged")
    assert stray.status_code == 400 and "did not complete" in stray.get_data(as_text=True)
    denied = client.get("/login/sso/callback?error=access_denied&error_description=No+way")
    assert denied.status_code == 403 and "No way" in denied.get_data(as_text=True)


def test_password_sign_in_off_needs_a_provider(database_url: str, tmp_path: Path) -> None:
    config = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(settings.SettingsError, match="PASSWORD_LOGIN=false needs OIDC_ISSUER"):
        create_app({**config, "PASSWORD_LOGIN": False})


def _claims(email: str, verified: object = True) -> dict[str, object]:
    return {"sub": "x", "email": email, "email_verified": verified}


def test_who_the_claims_let_in(app: Flask, runner: Cli) -> None:
    assert create_user(runner, "anna@example.com", "admin").exit_code == 0
    assert create_user(runner, "old@example.com", "admin").exit_code == 0
    config = settings.override(app, oidc_allowed_domains="Example.com, @shop.example")
    with app.app_context():
        conn = get_db()
        with conn.begin():
            old = users.credentials(conn, "old@example.com")
            assert old is not None
            users.set_active(conn, old[0].id, False)
            assert sso.user_for(conn, _claims("Anna@Example.com"), config).role == "admin"
            refusals = {
                "unverified": _claims("anna@example.com", "true"),  # a string is not true
                "no e-mail": {"sub": "x", "email_verified": True},
                "domain": _claims("eve@elsewhere.test"),
                "unknown": _claims("new@shop.example"),
                "deactivated": _claims("old@example.com"),
            }
            reasons = {}
            for name, claims in refusals.items():
                with pytest.raises(sso.SignInRefusedError) as refused:
                    sso.user_for(conn, claims, config)
                reasons[name] = str(refused.value)
        assert "not verified" in reasons["unverified"]
        assert "gave no e-mail" in reasons["no e-mail"]
        assert reasons["domain"] == "Accounts of elsewhere.test may not sign in here."
        assert "has no Smiletap account" in reasons["unknown"]
        assert "deactivated" in reasons["deactivated"]

        config = settings.override(app, oidc_create_users=True)
        with conn.begin():
            made = sso.user_for(conn, _claims("new@shop.example"), config)
            again = sso.user_for(conn, _claims("NEW@shop.example"), config)
            assert (made.role, made.location_ids, again.id) == ("manager", frozenset(), made.id)
            # Made by single sign-on: no password signs in as them.
            found = users.credentials(conn, "new@shop.example")
            assert found is not None and found[1] == sso.NO_PASSWORD
