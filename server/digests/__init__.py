"""E-mailed digests: what they say (`content`), how it is written (`render`, `chart`), the
mail (`mail`), the period they cover (`periods`) and when they go out (`schedule`).

`make` writes a user's digest; `send_now` sends it at once (the CLI and the dashboard's
"send to me now"), outside the schedule and without marking its period sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from server import mail as smtp
from server.digests import chart, content, mail, render
from server.settings import Settings
from server.store import digests as store
from server.store import pending_rollups
from server.store.users import User
from shared.clock import utcnow


@dataclass(frozen=True)
class Digest:
    """A written digest and its chart."""

    written: render.Written
    chart_png: bytes
    content: content.Content


def make(
    conn: Connection,
    settings: Settings,
    user: User,
    kind: str,
    now: datetime,
    image_src: str = f"cid:{render.CHART_CID}",
) -> Digest:
    """The user's digest of the last complete period of `kind` at `now`."""
    chosen = store.choice(conn, user.id) or store.Choice()
    gathered = content.gather(conn, user, kind, now, settings.min_n)
    written = render.write(gathered, chosen.locale, settings.public_url, image_src)
    png = chart.png(gathered, "This period", "Period before")
    return Digest(written, png, gathered)


def default_kind(conn: Connection, user: User) -> str:
    """The period the user chose, or weekly when they chose none (a digest asked for now)."""
    chosen = store.choice(conn, user.id) or store.Choice()
    return chosen.period if chosen.period != "none" else "weekly"


def deliver(settings: Settings, user: User, digest: Digest) -> None:
    """Mail the digest to the user; SMTP errors propagate."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (SMILETAP_SMTP_HOST)")
    message = mail.compose(digest.written, digest.chart_png, settings.smtp_from, user.email)
    smtp.send(settings, message)


def send_now(
    engine: Engine, settings: Settings, user: User, kind: str | None, now: datetime | None = None
) -> Digest:
    """Make and send the user's digest now, whatever its schedule."""
    with pending_rollups.begin_caught_up(engine) as conn:
        digest = make(conn, settings, user, kind or default_kind(conn, user), now or utcnow())
    deliver(settings, user, digest)
    return digest
