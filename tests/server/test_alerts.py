"""Alerts end to end: answers through the real ingest path, mail to a real SMTP server,
JSON to a real webhook receiver; one notification per episode, none on a second run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from server import alerts, jobs
from server.db import get_engine
from server.store.schema import devices, locations
from shared.clock import to_rfc3339
from tests.server.alerting import SmtpServer, WebhookReceiver
from tests.server.conftest import Kiosk, Smiletap
from tests.server.dashboard.conftest import create_user, login


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


class Alerting:
    """A location with a kiosk, its manager, another location's manager, and the config."""

    def __init__(self, app: Flask, smiletap: Smiletap, smtp: SmtpServer, hook: str) -> None:
        self.app = app
        self.kiosk: Kiosk = smiletap.setup()
        self.other = smiletap.location("Europe/London", "Other")
        cli = smiletap.cli
        assert create_user(cli, "boss@example.com", "admin").exit_code == 0
        assert (
            create_user(cli, "anna@example.com", "manager", self.kiosk.location_id).exit_code == 0
        )
        assert create_user(cli, "zed@example.com", "manager", self.other).exit_code == 0
        self.config: dict[str, Any] = {
            **app.config,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp.port,
            "ALERT_WEBHOOK_URL": hook,
            "PUBLIC_URL": "https://smiletap.example.com",
        }
        self.engine = get_engine(app)

    def answers(self, *values: int, at: datetime | None = None) -> None:
        """Submit one smiley answer per value through POST /api/v1/submissions."""
        tapped = to_rfc3339(at or datetime.now(UTC))
        items = [self.kiosk.item(v, tapped_at=tapped) for v in values]
        answer = self.kiosk.submit(items)
        assert answer.status_code == 200
        assert {r["status"] for r in answer.get_json()["results"]} == {"accepted"}

    def check(self, now: datetime | None = None) -> list[int]:
        return alerts.check(self.engine, self.config, now)

    def set_device(self, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(devices).where(devices.c.id == self.kiosk.device_id).values(**values)
            )

    def set_hours(self, hours: dict[str, list[str]] | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(locations)
                .where(locations.c.id == self.kiosk.location_id)
                .values(opening_hours=None if hours is None else json.dumps(hours))
            )


@pytest.fixture
def alerting(
    app: Flask, smiletap: Smiletap, smtp: SmtpServer, webhook: WebhookReceiver
) -> Alerting:
    return Alerting(app, smiletap, smtp, webhook.url)


def test_surge_fires_once_per_episode_by_mail_and_webhook(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    alerting.answers(1, 2, 1)
    assert alerting.check() == []  # 3 answers: fewer than ALERT_SURGE_MIN_N
    alerting.answers(1)
    assert len(alerting.check()) == 1
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1
    recipients, mail = smtp.messages[0]
    assert sorted(recipients) == ["anna@example.com", "boss@example.com"]  # not zed
    assert "Surge of unhappy answers" in mail["Subject"]
    body = mail.get_payload()
    assert "4 of 4 answers (100 %) unhappy in the last 15 min" in body
    link = f"https://smiletap.example.com/dashboard/locations/{alerting.kiosk.location_id}"
    assert link in body
    sent = webhook.bodies[0]["alert"]
    assert (sent["rule"], sent["state"], sent["url"]) == ("surge", "open", link)

    assert alerting.check() == []  # still holding: no storm
    alerting.answers(5, 5, 5, 5, 5)  # 4 of 9 unhappy: the episode ends
    assert alerting.check() == []
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1
    alerting.answers(1, 1, 1, 1, 1)  # 9 of 14: a new episode
    assert len(alerting.check()) == 1
    assert len(smtp.messages) == 2 and len(webhook.bodies) == 2
    assert alerting.check() == []


def test_a_per_location_webhook_overrides_the_global_one(
    alerting: Alerting, webhook: WebhookReceiver
) -> None:
    own = WebhookReceiver()
    try:
        with alerting.engine.begin() as conn:
            conn.execute(
                update(locations)
                .where(locations.c.id == alerting.kiosk.location_id)
                .values(webhook_url=own.url)
            )
        alerting.answers(1, 1, 1, 1)
        assert len(alerting.check()) == 1
        assert len(own.bodies) == 1 and webhook.bodies == []
    finally:
        own.stop()


def test_week_over_week_drop_outside_the_intervals(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    now = datetime.now(UTC)
    alerting.answers(*[5] * 20, at=now - timedelta(days=9))
    alerting.answers(*[5, 4] * 2 + [1] * 16, at=now - timedelta(days=2))
    notified = alerting.check()
    assert len(notified) == 1
    sent = webhook.bodies[0]["alert"]
    assert (sent["rule"], sent["subject"]) == ("drop", "q1")
    assert "fell from 100.0" in sent["message"]
    assert alerting.check() == [] and len(smtp.messages) == 1


def test_no_drop_when_the_intervals_overlap(alerting: Alerting) -> None:
    now = datetime.now(UTC)
    alerting.answers(5, 5, 4, at=now - timedelta(days=9))
    alerting.answers(5, 1, 2, at=now - timedelta(days=2))
    assert alerting.check() == []


# Monday 2026-11-23, 12:00 in Warsaw (UTC+1); the location opens 08:00–20:00 on weekdays.
MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SUNDAY_NOON = MONDAY_NOON - timedelta(days=1)
WEEKDAYS = {str(d): ["08:00", "20:00"] for d in range(1, 6)}


def test_silent_kiosk_respects_opening_hours_and_escalates(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    alerting.set_hours(WEEKDAYS)
    alerting.set_device(last_contact_at=SUNDAY_NOON - timedelta(hours=2))
    assert alerting.check(SUNDAY_NOON) == []  # silent 2 h, but the store is closed
    alerting.set_device(last_contact_at=MONDAY_NOON - timedelta(hours=2))
    assert len(alerting.check(MONDAY_NOON)) == 1
    sent = webhook.bodies[0]["alert"]
    assert (sent["rule"], sent["severity"]) == ("silent", "warning")
    assert sent["subject"] == alerting.kiosk.device_id
    assert sent["url"] == "https://smiletap.example.com/dashboard/devices/"
    assert alerting.check(MONDAY_NOON + timedelta(minutes=5)) == []
    # The evening passes: still silent, store closed: the episode stays, nothing new is sent.
    assert alerting.check(MONDAY_NOON + timedelta(hours=9)) == []
    # A day without contact is critical at any hour: the same episode escalates once.
    assert len(alerting.check(MONDAY_NOON + timedelta(hours=23))) == 1
    assert webhook.bodies[1]["alert"]["severity"] == "critical"
    assert alerting.check(MONDAY_NOON + timedelta(hours=24)) == []
    # Contact again: the episode closes; the next silence is a new one.
    alerting.set_device(last_contact_at=MONDAY_NOON + timedelta(hours=24))
    assert alerting.check(MONDAY_NOON + timedelta(hours=24, minutes=1)) == []
    assert len(alerting.check(MONDAY_NOON + timedelta(hours=26))) == 1
    assert len(smtp.messages) == 3 and len(webhook.bodies) == 3


def test_alert_job_runs_once_across_processes(alerting: Alerting, webhook: WebhookReceiver) -> None:
    alerting.answers(1, 1, 1, 1)
    job = next(j for j in jobs.JOBS if j.name == "check-alerts")
    assert jobs.run_job(alerting.engine, job, 60, alerting.config) is True
    assert jobs.run_job(alerting.engine, job, 60, alerting.config) is False  # same period
    assert len(webhook.bodies) == 1


def test_a_dead_mail_server_and_webhook_are_logged_not_raised(alerting: Alerting) -> None:
    from tests.server.alerting import free_port

    alerting.config.update(
        SMTP_PORT=free_port(), ALERT_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/"
    )
    alerting.config["ALERT_DELIVERY_TIMEOUT_S"] = 2.0
    alerting.answers(1, 1, 1, 1)
    assert len(alerting.check()) == 1
    assert alerting.check() == []  # not retried: no storm when the server comes back


def test_alerts_page_lists_open_and_recent_scoped_to_the_manager(alerting: Alerting) -> None:
    alerting.answers(1, 1, 1, 1)
    alerting.check()
    admin = alerting.app.test_client()
    assert login(admin, "boss@example.com").status_code == 302
    page = admin.get("/dashboard/alerts/").get_data(True)
    assert "Surge of unhappy answers" in page and 'class="alert-open"' in page
    assert f"/dashboard/locations/{alerting.kiosk.location_id}" in page
    zed = alerting.app.test_client()
    assert login(zed, "zed@example.com").status_code == 302
    assert "Surge of unhappy answers" not in zed.get("/dashboard/alerts/").get_data(True)
    anna = alerting.app.test_client()
    assert login(anna, "anna@example.com").status_code == 302
    assert "Surge of unhappy answers" in anna.get("/dashboard/alerts/").get_data(True)


def test_location_rules_override_the_settings(alerting: Alerting) -> None:
    with alerting.engine.begin() as conn:
        conn.execute(
            update(locations)
            .where(locations.c.id == alerting.kiosk.location_id)
            .values(alert_rules=json.dumps({"surge": False}))
        )
    alerting.answers(1, 1, 1, 1)
    assert alerting.check() == []
    with alerting.engine.begin() as conn:
        conn.execute(
            update(locations)
            .where(locations.c.id == alerting.kiosk.location_id)
            .values(alert_rules=json.dumps({"surge_min_n": 8}))
        )
    assert alerting.check() == []  # 4 answers: fewer than this location's 8
    alerting.answers(1, 1, 1, 1)
    assert len(alerting.check()) == 1
