"""Who a single sign-on may let in: the provider vouches for an e-mail, Smiletap decides.

The OpenID provider only says "this person holds this verified e-mail". Smiletap matches the
e-mail to one of its users, whose role and locations stay Smiletap's; an unverified e-mail,
a domain outside OIDC_ALLOWED_DOMAINS, an unknown or deactivated user is refused with a
reason the sign-in page shows. With OIDC_CREATE_USERS an unknown e-mail of an allowed domain
becomes a manager with no locations, who sees nothing until an admin gives some.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection

from server.settings import Settings
from server.store import users
from server.store.users import User

#: Stored as the password hash of users made by single sign-on: no password ever matches it.
NO_PASSWORD = "!single-sign-on"


class SignInRefusedError(Exception):
    """The provider's answer does not let this person in; `str()` says why, for the page."""


def configured(config: Settings) -> bool:
    """Whether single sign-on is set up (issuer and client id)."""
    return bool(config.oidc_issuer and config.oidc_client_id)


def allowed_domains(config: Settings) -> frozenset[str]:
    """The e-mail domains let in (lower-case); empty: any."""
    return frozenset(
        d.strip().lower().lstrip("@") for d in config.oidc_allowed_domains.split(",") if d.strip()
    )


def verified_email(claims: Mapping[str, Any]) -> str:
    """The claims' e-mail when the provider says it is verified, else SignInRefusedError."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SignInRefusedError("The sign-in service gave no e-mail address for this account.")
    if claims.get("email_verified") is not True:
        raise SignInRefusedError(
            f"The sign-in service has not verified the e-mail address {email}."
        )
    return users.normalize_email(email)


def user_for(conn: Connection, claims: Mapping[str, Any], config: Settings) -> User:
    """The Smiletap user these claims sign in (made when allowed), or SignInRefusedError."""
    email = verified_email(claims)
    domains = allowed_domains(config)
    if domains and email.rpartition("@")[2] not in domains:
        raise SignInRefusedError(f"Accounts of {email.rpartition('@')[2]} may not sign in here.")
    found = users.credentials(conn, email)
    if found is None:
        if not config.oidc_create_users:
            raise SignInRefusedError(
                f"{email} has no Smiletap account. Ask an admin to add you as a user."
            )
        with suppress(users.DuplicateEmailError):  # made by a sign-in racing this one
            users.create(conn, email, NO_PASSWORD, "manager", [])
        found = users.credentials(conn, email)
        assert found is not None
    if not found[0].active:
        raise SignInRefusedError(f"The Smiletap account {email} is deactivated.")
    return found[0]
