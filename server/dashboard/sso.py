"""Single sign-on with OpenID Connect: Authorization Code with PKCE, through Authlib.

`/login/sso` sends the browser to the provider (state, nonce and a PKCE verifier kept in
the session by Authlib); `/login/sso/callback` swaps the code for tokens, checks the ID
token, reads the e-mail and lets `server.sso` decide who that is. The provider is found by
discovery (OIDC_ISSUER/.well-known/openid-configuration), read on first use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from requests import RequestException
from werkzeug.wrappers import Response

from server import settings, sso
from server.dashboard.access import make_blueprint, safe_next, sign_in
from server.db import get_db

bp = make_blueprint("sso", __name__)

EXTENSION = "smiletap.oidc"
#: The ID token of a single sign-on, kept for the provider's sign-out (id_token_hint).
ID_TOKEN = "sso_id_token"
_NEXT = "sso_next"
_TIMEOUT_S = 10


def init_app(app: Flask) -> None:
    """Register the OpenID provider when OIDC_ISSUER and OIDC_CLIENT_ID are set (and refuse
    to start with password sign-in off and no provider: nobody could sign in)."""
    config = settings.of(app)
    if not sso.configured(config):
        if not config.password_login:
            raise settings.SettingsError(
                "PASSWORD_LOGIN=false needs OIDC_ISSUER and OIDC_CLIENT_ID: nobody could sign in"
            )
        return
    oauth = OAuth(app)
    oauth.register(
        "provider",
        client_id=config.oidc_client_id,
        client_secret=config.oidc_client_secret or None,
        server_metadata_url=config.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email",
            "code_challenge_method": "S256",
            "default_timeout": _TIMEOUT_S,
        },
    )
    app.extensions[EXTENSION] = oauth


def _provider() -> Any:
    oauth = current_app.extensions.get(EXTENSION)
    if oauth is None:
        abort(404)
    return oauth.create_client("provider")


def provider_origin(app: Flask) -> str | None:
    """scheme://host[:port] of the issuer when single sign-on is on (the CSP allows it)."""
    issuer = settings.of(app).oidc_issuer
    if EXTENSION not in app.extensions or not issuer:
        return None
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def _callback_url() -> str:
    public = settings.current().public_url.rstrip("/")
    if public:
        return public + url_for("sso.callback")
    return url_for("sso.callback", _external=True)


def _refused(message: str, status: int = 403) -> tuple[str, int]:
    return render_template("dashboard/sso_refused.html", message=message), status


@bp.get("/login/sso")
def start() -> Response | tuple[str, int]:
    """Off to the provider's sign-in page."""
    client = _provider()
    target = safe_next(request.args.get("next"))
    try:
        answer: Response = client.authorize_redirect(_callback_url())
    except (OAuthError, RequestException, ValueError) as exc:
        current_app.logger.warning("single sign-on: provider unreachable: %s", exc)
        return _refused("The sign-in service cannot be reached now. Try again shortly.", 502)
    session[_NEXT] = target
    return answer


@bp.get("/login/sso/callback")
def callback() -> Response | tuple[str, int]:
    """Back from the provider: check its answer and sign the matching user in."""
    client = _provider()
    if "error" in request.args:
        reason = request.args.get("error_description") or request.args.get("error", "")
        return _refused(f"The sign-in service said: {reason[:200]}")
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if "email" not in claims:
            # Many providers put the e-mail only in the userinfo answer, not the ID token.
            claims.update(client.userinfo(token=token))
    except (OAuthError, RequestException, ValueError) as exc:
        current_app.logger.warning("single sign-on failed: %s", exc)
        return _refused("The sign-in did not complete (it expired or was not started here).", 400)
    conn = get_db()
    try:
        with conn.begin():
            user = sso.user_for(conn, claims, settings.current())
    except sso.SignInRefusedError as refusal:
        return _refused(str(refusal))
    target = safe_next(session.get(_NEXT))
    sign_in(user)
    if isinstance(token.get("id_token"), str):
        session[ID_TOKEN] = token["id_token"]
    return redirect(target)


def end_session_url(id_token: str | None) -> str | None:
    """The provider's sign-out address for this ID token, when it has one (RP-initiated)."""
    if not id_token or EXTENSION not in current_app.extensions:
        return None
    try:
        metadata = _provider().load_server_metadata()
    except (OAuthError, RequestException, ValueError):
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    public = settings.current().public_url.rstrip("/")
    back = public + url_for("account.login") if public else url_for("account.login", _external=True)
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": back,
        "client_id": settings.current().oidc_client_id,
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
