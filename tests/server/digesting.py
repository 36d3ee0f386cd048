"""A chain with answers in the last complete week and the week before, for digest tests."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from server import settings
from server.db import get_engine
from server.digests import periods
from server.settings import Settings
from server.store import digests as digest_store
from server.store import users
from shared.clock import to_rfc3339
from tests.server.alerting import SmtpServer
from tests.server.conftest import Kiosk, Smiletap
from tests.server.dashboard.conftest import create_user

ZONE = "Europe/Warsaw"


class Digesting:
    """A location whose last complete week went clearly worse than the week before, with a
    reason and a comment; a manager of it, an admin, and mail through a real SMTP server."""

    def __init__(self, app: Flask, smiletap: Smiletap, smtp: SmtpServer) -> None:
        self.app = app
        self.smiletap = smiletap
        self.kiosk: Kiosk = smiletap.setup(ZONE)
        cli = smiletap.cli
        location_id = self.kiosk.location_id
        assert create_user(cli, "anna@example.com", "manager", location_id).exit_code == 0
        assert create_user(cli, "boss@example.com", "admin").exit_code == 0
        self.config: Settings = settings.override(
            app,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            public_url="https://smiletap.example.com",
            min_n=10,
        )
        self.engine = get_engine(app)
        self.now = datetime.now(UTC)
        self.week = periods.last_complete("weekly", self.now, ZONE)
        # The week before: 30 happy faces; the last week: 20 unhappy and 10 happy, one with
        # a reason and a comment.
        self.answer(self.week.previous_first, [5] * 30)
        self.answer(self.week.first, [1] * 20 + [5] * 10, comment="The queue was far too long")
        # The admin asks for no scheduled digest, so the schedule's tests count Anna's alone.
        self.choose("boss@example.com", "none")

    def answer(self, day: object, values: list[int], comment: str | None = None) -> None:
        """Submit smiley answers at noon of a store-local day through the ingest API."""
        noon = datetime.combine(day, time(12), ZoneInfo(ZONE))  # type: ignore[arg-type]
        items = []
        for i, value in enumerate(values):
            tapped = to_rfc3339((noon + timedelta(minutes=i)).astimezone(UTC))
            answer: dict[str, object] = {"question_id": "q1", "value": value, "reasons": []}
            if value <= 2 and i == 0:
                answer["reasons"] = ["wait"]
                if comment:
                    answer["comment"] = comment
            items.append({**self.kiosk.item(value, tapped_at=tapped), "answers": [answer]})
        result = self.kiosk.submit(items)
        assert result.status_code == 200, result.get_json()
        statuses = {r["status"] for r in result.get_json()["results"]}
        assert statuses == {"accepted"}, result.get_json()

    def choose(self, email: str, period: str, at: str = "07:00", locale: str = "en") -> None:
        """Store a user's digest choice."""
        with self.engine.begin() as conn:
            found = users.credentials(conn, email)
            assert found is not None
            digest_store.set_choice(conn, found[0].id, digest_store.Choice(period, at, locale))


@pytest.fixture
def digesting(app: Flask, smiletap: Smiletap, smtp: SmtpServer) -> Digesting:
    """The chain of `Digesting`; test modules import this fixture."""
    return Digesting(app, smiletap, smtp)
