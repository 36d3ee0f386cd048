"""When digests go out: the scheduler's `send-digests` job (once across processes, by the
job lease) mails each user whose digest is due.

- Due: the user's delivery time on the clock of their first location, the day after the
  period ends (`periods.latest_due`).
- Never twice: a digest is recorded in `digests_sent` (user, period key) once it is sent, and
  a period with a record is skipped, after a restart too.
- No flood after an outage: only the latest due period of each user is looked at; the ones
  before it were missed and stay missed.
- A failed delivery is logged and, having no record, tried again at the next run while its
  period is still the latest due.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from server import digests, metrics
from server.digests import content, periods
from server.settings import Settings
from server.store import digests as store
from server.store import pending_rollups, users
from server.store.users import User
from shared.clock import utcnow

log = logging.getLogger(__name__)


def due(engine: Engine, now: datetime) -> list[tuple[User, periods.Period, datetime]]:
    """(user, period, when it fell due) of every digest due at `now` and not sent yet."""
    found = []
    with engine.begin() as conn:
        for user_id, chosen in store.subscribers(conn):
            user = users.get(conn, user_id)
            if user is None or not (user.is_admin or user.location_ids):
                continue  # a manager of no location has nothing to read
            zone = content.home_timezone(conn, user)
            at = periods.parse_time(chosen.time)
            period = periods.latest_due(chosen.period, at, zone, now)
            if not store.was_sent(conn, user.id, period.key):
                found.append((user, period, periods.due_at(period, at, zone)))
    return found


def run(engine: Engine, settings: Settings, now: datetime | None = None) -> list[str]:
    """Send every digest due now; return the e-mail addresses mailed."""
    if not settings.smtp_host:
        return []  # no mail server: nothing can go out, and nothing is marked sent
    now = now or utcnow()
    sent = []
    for user, period, fell_due in due(engine, now):
        try:
            with pending_rollups.begin_caught_up(engine) as conn:
                # Written as at the moment it fell due, so it covers that period even when
                # sent late (after an outage, or on a retry).
                digest = digests.make(conn, settings, user, period.kind, fell_due)
            digests.deliver(settings, user, digest)
        except Exception as exc:  # one user's failure must not stop the others' digests
            log.warning(
                "digest %s for %s not sent (tried again at the next run): %r",
                period.key,
                user.email,
                exc,
            )
            metrics.DIGEST_FAILURES.inc()
            continue
        with engine.begin() as conn:
            store.mark_sent(conn, user.id, period.key, now)
        metrics.DIGESTS_SENT.inc()
        log.info("digest %s sent to %s", period.key, user.email)
        sent.append(user.email)
    return sent
