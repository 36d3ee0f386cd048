"""What a digest says, gathered from the same code the dashboard and the reports API use.

Scores come from `server.scores.build_groups` over the rollups (the numbers of
`GET /api/v1/reports/scores` for the same days), each with its 95 % interval; a move is
called "up" or "down" only when `shared.scoring.clear_move` finds the two intervals apart.
Reasons and comments are the dashboard's (`store.submissions`), response rate and coverage
the KPI report's (`server.kpi_report`), the follow-up figures (handled, waiting, median time
to handle) `store.followups.followup_stats`'s. Each location's period is the last complete one on
its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server import kpi_report, survey_labels
from server.dashboard.present import METRICS, Metric, metric
from server.digests import periods
from server.scores import build_groups
from server.store import alerts, as_utc, followups, locations, rollups, submissions
from server.store.filters import Filters
from server.store.followups import FollowupStats
from server.store.users import User
from shared.scoring import clear_move

TOP_REASONS = 5
LATEST_COMMENTS = 5


@dataclass(frozen=True)
class Score:
    """One kind of score this period and the period before, and whether it clearly moved."""

    name: str
    now: Metric | None
    before: Metric | None

    @property
    def move(self) -> str:
        """`up` or `down` when the intervals lie apart, else `same` (no clear change)."""
        if self.now is None or self.before is None:
            return "same"
        found = clear_move((self.now.lo, self.now.hi), (self.before.lo, self.before.hi))
        return "up" if found > 0 else "down" if found < 0 else "same"


@dataclass
class LocationDigest:
    """Everything the digest says about one location."""

    id: str
    name: str
    timezone: str
    period: periods.Period
    n: int
    ranked: bool
    previous_n: int
    scores: list[Score]
    reasons: list[tuple[str, str, int]]  # (reason text, question text, times chosen)
    comments: list[dict[str, Any]]
    open_alerts: list[dict[str, Any]]
    response_rate: float | None
    coverage: float | None
    followups: FollowupStats
    link_path: str = ""


@dataclass
class Content:
    """A user's digest before it is written out."""

    kind: str
    period: periods.Period  # on the clock of the user's first location
    locations: list[LocationDigest] = field(default_factory=list)


def _total(conn: Connection, location_id: str, first: Any, last: Any, min_n: int) -> Any:
    rows = rollups.counts(conn, "location", Filters(first, last, [location_id]))
    groups = build_groups(rows, "location", min_n)
    return groups[0] if groups else {"n": 0, "ranked": False}


def _kpis(conn: Connection, location_id: str, period: periods.Period) -> dict[str, Any]:
    days = kpi_report.day_rows(conn, Filters(period.first, period.last, [location_id]))
    groups = kpi_report.build_groups(days, "location")
    return groups[0] if groups else {}


def for_location(
    conn: Connection, place: dict[str, Any], kind: str, now: datetime, min_n: int
) -> LocationDigest:
    """One location's part: its last complete period on its own clock."""
    period = periods.last_complete(kind, now, place["timezone"])
    current = _total(conn, place["id"], period.first, period.last, min_n)
    previous = _total(conn, place["id"], period.previous_first, period.previous_last, min_n)
    scores = [Score(name, metric(current, name), metric(previous, name)) for name in METRICS]
    labels = survey_labels.labels(conn, place["survey_id"])
    reasons, _ = submissions.top_reasons(
        conn, place["id"], period.first, period.last, limit=TOP_REASONS
    )
    comments = submissions.latest_comments(conn, place["id"], period.first, period.last)
    for comment in comments:
        comment["effective_at"] = as_utc(comment["effective_at"])
    open_alerts = [
        a for a in alerts.listing(conn, frozenset([place["id"]])) if a["state"] == "open"
    ]
    kpis = _kpis(conn, place["id"], period)
    return LocationDigest(
        id=place["id"],
        name=place["name"],
        timezone=place["timezone"],
        period=period,
        n=int(current["n"]),
        ranked=bool(current["ranked"]),
        previous_n=int(previous["n"]),
        scores=[s for s in scores if s.now is not None or s.before is not None],
        reasons=[(labels.get((q, r), r), labels.get((q, ""), q), n) for q, r, n in reasons],
        comments=comments[:LATEST_COMMENTS],
        open_alerts=open_alerts,
        response_rate=kpis.get("response_rate"),
        coverage=kpis.get("coverage"),
        followups=followups.followup_stats(conn, [place["id"]], period.first, period.last),
        link_path=f"/dashboard/locations/{place['id']}",
    )


def gather(conn: Connection, user: User, kind: str, now: datetime, min_n: int) -> Content:
    """The digest of `user` for the last complete period of `kind`: every location they may
    see (all of them for an admin), by name."""
    places = _places(conn, user)
    content = Content(kind, periods.last_complete(kind, now, _zone(places)))
    content.locations = [for_location(conn, place, kind, now, min_n) for place in places]
    return content


def _places(conn: Connection, user: User) -> list[dict[str, Any]]:
    return locations.visible(conn, None if user.is_admin else user.location_ids)


def _zone(places: list[dict[str, Any]]) -> str:
    return str(places[0]["timezone"]) if places else "UTC"


def home_timezone(conn: Connection, user: User) -> str:
    """The time zone of the user's first location by name (an admin's: of all), else UTC:
    the clock their digest is due by."""
    return _zone(_places(conn, user))
