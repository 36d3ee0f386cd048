"""Alerts end to end: answers through the real ingest path, mail to a real SMTP server,
JSON to a real webhook receiver; one notification per episode, none on a second run."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from server import alerts, jobs, settings
from server.db import get_engine
from server.settings import Settings
from server.store import alerts as store
from server.store import users
from server.store.schema import devices, locations
from shared.clock import to_rfc3339
from tests.server.alerting import SmtpServer, WebhookReceiver
from tests.server.conftest import Kiosk, Smiletap
from tests.server.dashboard.conftest import create_user, login, post


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
        self.config: Settings = settings.override(
            app,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            alert_webhook_url=hook,
            webhook_allow="127.0.0.1",  # the receivers listen on loopback
            public_url="https://smiletap.example.com",
        )
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

    alerting.config = replace(
        alerting.config,
        smtp_port=free_port(),
        alert_webhook_url=f"http://127.0.0.1:{free_port()}/",
        alert_delivery_timeout_s=2.0,
    )
    alerting.answers(1, 1, 1, 1)
    (alert_id,) = alerting.check()
    assert alerting.check() == []  # retried later, not at once: no storm
    assert _delivery(alerting, alert_id) == ("mail,webhook", 1, False)


def _delivery(alerting: Alerting, alert_id: int) -> tuple[str | None, int, bool]:
    """(channels still due, tries so far, notified) of an episode."""
    with alerting.engine.begin() as conn:
        row = store.get(conn, alert_id)
    assert row is not None
    return row["pending_channels"], row["delivery_attempts"], row["notified_at"] is not None


def test_a_failing_channel_stops_neither_the_other_nor_other_episodes(
    alerting: Alerting, smiletap: Smiletap, webhook: WebhookReceiver
) -> None:
    """A mail that cannot even be built (a CR/LF in a header raises ValueError) used to end the
    whole run: the webhook and every later episode were lost."""
    second = smiletap.setup()
    alerting.config = replace(
        alerting.config, smtp_from="smiletap@example.com\r\nBcc: everyone@example.com"
    )
    alerting.answers(1, 1, 1, 1)
    tapped = to_rfc3339(datetime.now(UTC))
    assert second.submit([second.item(1, tapped_at=tapped) for _ in range(4)]).status_code == 200
    first_id, second_id = alerting.check()
    assert sorted(b["alert"]["id"] for b in webhook.bodies) == [first_id, second_id]
    assert _delivery(alerting, first_id) == ("mail", 1, False)
    assert _delivery(alerting, second_id) == ("mail", 1, False)


def test_a_name_stored_with_a_line_break_still_gets_its_mail(
    alerting: Alerting, smtp: SmtpServer
) -> None:
    with alerting.engine.begin() as conn:  # from before names were checked
        conn.execute(
            update(locations)
            .where(locations.c.id == alerting.kiosk.location_id)
            .values(name="Centrum\r\nBcc: everyone@example.com")
        )
    alerting.answers(1, 1, 1, 1)
    (alert_id,) = alerting.check()
    ((recipients, mail),) = smtp.messages
    assert "everyone@example.com" not in recipients and mail["Bcc"] is None
    assert re.sub(r"\r?\n", "", mail["Subject"]) == (  # unfolded: one header line
        "[Smiletap] warning: Surge of unhappy answers at Centrum  Bcc: everyone@example.com"
    )
    assert _delivery(alerting, alert_id) == (None, 1, True)


def test_a_failed_delivery_is_retried_later_on_its_channel_only(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    alerting.answers(1, 1, 1, 1)
    start = datetime.now(UTC)
    (alert_id,) = alerting.check(start)
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1
    assert _delivery(alerting, alert_id) == ("webhook", 1, False)
    alerting.check(start + timedelta(seconds=30))  # not due yet (1 min after the first try)
    assert len(webhook.bodies) == 1
    webhook.status = 204
    alerting.check(start + alerts.retry_delay(1) + timedelta(seconds=1))
    assert len(webhook.bodies) == 2 and webhook.bodies[1]["alert"]["id"] == alert_id
    assert len(smtp.messages) == 1  # the mail went out the first time: not sent again
    assert _delivery(alerting, alert_id) == (None, 2, True)
    alerting.check(start + timedelta(hours=3))  # (the kiosk is silent by then: its own alert)
    assert [b["alert"]["id"] for b in webhook.bodies].count(alert_id) == 2


def test_a_delivery_that_keeps_failing_is_given_up(
    alerting: Alerting, webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    alerting.answers(1, 1, 1, 1)
    start = datetime.now(UTC)
    (alert_id,) = alerting.check(start)
    for hour in range(1, alerts.MAX_DELIVERY_ATTEMPTS + 3):  # each check is past any delay
        alerting.check(start + timedelta(hours=hour))
    tries = [b["alert"]["id"] for b in webhook.bodies].count(alert_id)
    assert tries == alerts.MAX_DELIVERY_ATTEMPTS
    assert _delivery(alerting, alert_id) == (None, alerts.MAX_DELIVERY_ATTEMPTS, False)
    assert [alerts.retry_delay(n).total_seconds() for n in (1, 2, 3, 7, 8)] == [
        60,
        120,
        240,
        3600,
        3600,
    ]


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
    assert 'data-rule="surge"' not in zed.get("/dashboard/alerts/").get_data(True)
    anna = alerting.app.test_client()
    assert login(anna, "anna@example.com").status_code == 302
    assert 'data-rule="surge"' in anna.get("/dashboard/alerts/").get_data(True)


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


def _user_id(alerting: Alerting, email: str) -> str:
    with alerting.engine.begin() as conn:
        found = users.credentials(conn, email)
    assert found is not None
    return found[0].id


def _mute(alerting: Alerting, rule: str | None, until: datetime) -> int:
    who = _user_id(alerting, "anna@example.com")
    with alerting.engine.begin() as conn:
        return store.mute(conn, alerting.kiosk.location_id, rule, until, who)


def test_a_muted_rule_is_recorded_not_sent_until_the_mute_ends(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    mute_id = _mute(alerting, "silent", MONDAY_NOON + timedelta(hours=1))
    alerting.set_device(last_contact_at=MONDAY_NOON - timedelta(hours=2))
    notified = alerting.check(MONDAY_NOON)
    assert len(notified) == 1  # the episode opens and is shown …
    assert smtp.messages == [] and webhook.bodies == []  # … but nothing is sent
    with alerting.engine.begin() as conn:
        (episode,) = store.by_ids(conn, notified)
    assert (episode["state"], episode["muted_by"], episode["notified_at"]) == (
        "open",
        mute_id,
        None,
    )
    assert alerting.check(MONDAY_NOON + timedelta(hours=2)) == []  # not sent late either
    # After the mute ended, the escalation to critical is sent.
    assert alerting.check(MONDAY_NOON + timedelta(hours=23)) == notified
    assert len(webhook.bodies) == 1 and len(smtp.messages) == 1
    assert webhook.bodies[0]["alert"]["severity"] == "critical"
    with alerting.engine.begin() as conn:
        (episode,) = store.by_ids(conn, notified)
    assert episode["muted_by"] is None and episode["notified_at"] is not None


def test_a_mute_holds_its_rule_or_every_rule_and_can_be_lifted(alerting: Alerting) -> None:
    location = alerting.kiosk.location_id
    surge = _mute(alerting, "surge", MONDAY_NOON + timedelta(days=1))
    with alerting.engine.begin() as conn:
        assert store.active_mute(conn, location, "surge", MONDAY_NOON) == surge
        assert store.active_mute(conn, location, "silent", MONDAY_NOON) is None
        assert store.active_mute(conn, alerting.other, "surge", MONDAY_NOON) is None
    every = _mute(alerting, None, MONDAY_NOON + timedelta(hours=1))
    who = _user_id(alerting, "boss@example.com")
    with alerting.engine.begin() as conn:
        assert store.active_mute(conn, location, "silent", MONDAY_NOON) == every
        later = MONDAY_NOON + timedelta(hours=2)
        assert store.active_mute(conn, location, "silent", later) is None  # expired
        assert store.lift_mute(conn, surge, who, MONDAY_NOON) is True
        assert store.lift_mute(conn, surge, who, MONDAY_NOON) is False  # once
        assert store.active_mute(conn, location, "surge", MONDAY_NOON) == every
        assert store.active_mute(conn, location, "surge", later) is None  # lifted
        lifted = store.get_mute(conn, surge)
    assert lifted is not None and lifted["lifted_by"] == who


def test_acknowledge_records_who_and_when_once(alerting: Alerting) -> None:
    alerting.answers(1, 1, 1, 1)
    (alert_id,) = alerting.check()
    who = _user_id(alerting, "anna@example.com")
    with alerting.engine.begin() as conn:
        assert store.acknowledge(conn, alert_id, who) is True
        assert store.acknowledge(conn, alert_id, who) is False
        found = store.get(conn, alert_id)
    assert found is not None
    assert found["acknowledged_by"] == who and found["acknowledged_at"] is not None


def _signed_in(alerting: Alerting, email: str) -> FlaskClient:
    client = alerting.app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_manager_acknowledges_and_mutes_on_the_alerts_page(
    alerting: Alerting, webhook: WebhookReceiver
) -> None:
    alerting.answers(1, 1, 1, 1)
    (alert_id,) = alerting.check()
    anna = _signed_in(alerting, "anna@example.com")
    page = "/dashboard/alerts/"
    assert post(anna, f"{page}{alert_id}/acknowledge", page=page).status_code == 302
    shown = anna.get(page).get_data(True)
    assert "Acknowledged by anna@example.com" in shown and "Alert acknowledged." in shown
    form = {"location_id": alerting.kiosk.location_id, "rule": "surge", "duration": "1d"}
    assert post(anna, f"{page}mutes", form, page=page).status_code == 302
    shown = anna.get(page).get_data(True)
    assert 'class="mute-active"' in shown and "by anna@example.com" in shown
    assert "muted for 1 day" in shown
    # The next surge episode at this location is recorded but not sent.
    alerting.answers(5, 5, 5, 5, 5, 5, 5, 5, 5)
    assert alerting.check() == []  # the first episode ends
    alerting.answers(*[1] * 14)
    assert len(alerting.check()) == 1 and len(webhook.bodies) == 1
    assert "Not sent: muted until" in anna.get(page).get_data(True)
    with alerting.engine.begin() as conn:
        (mute,) = store.mutes(conn, None)
    assert post(anna, f"{page}mutes/{mute['id']}/lift", page=page).status_code == 302
    shown = anna.get(page).get_data(True)
    assert "lifted by anna@example.com" in shown and 'class="mute-active"' not in shown


@pytest.mark.parametrize(
    "form", [{"rule": "surge", "duration": "1y"}, {"rule": "nonsense", "duration": "1h"}]
)
def test_a_bad_mute_form_is_400(alerting: Alerting, form: dict[str, str]) -> None:
    boss = _signed_in(alerting, "boss@example.com")
    data = {**form, "location_id": alerting.kiosk.location_id}
    page = "/dashboard/alerts/"
    assert post(boss, f"{page}mutes", data, page=page).status_code == 400


def test_a_manager_cannot_handle_another_locations_alerts(alerting: Alerting) -> None:
    alerting.answers(1, 1, 1, 1)
    (alert_id,) = alerting.check()
    mute_id = _mute(alerting, None, datetime.now(UTC) + timedelta(hours=1))
    zed = _signed_in(alerting, "zed@example.com")
    page = "/dashboard/alerts/"
    assert post(zed, f"{page}{alert_id}/acknowledge", page=page).status_code == 403
    assert post(zed, f"{page}mutes/{mute_id}/lift", page=page).status_code == 403
    form = {"location_id": alerting.kiosk.location_id, "duration": "1h"}
    assert post(zed, f"{page}mutes", form, page=page).status_code == 403
    assert post(zed, f"{page}999999/acknowledge", page=page).status_code == 403  # unknown
    shown = zed.get(page).get_data(True)
    assert "anna@example.com" not in shown and "data-mute=" not in shown
    boss = _signed_in(alerting, "boss@example.com")
    assert post(boss, f"{page}999999/acknowledge", page=page).status_code == 404
    with alerting.engine.begin() as conn:
        episode = store.get(conn, alert_id)
        mute = store.get_mute(conn, mute_id)
    assert episode is not None and episode["acknowledged_at"] is None
    assert mute is not None and mute["lifted_at"] is None


def test_a_webhook_to_an_internal_address_is_refused_unless_allowed(
    alerting: Alerting, smtp: SmtpServer, webhook: WebhookReceiver
) -> None:
    alerting.config = replace(alerting.config, webhook_allow="")  # loopback: internal
    alerting.answers(1, 1, 1, 1)
    start = datetime.now(UTC)
    (alert_id,) = alerting.check(start)
    assert webhook.bodies == [] and len(smtp.messages) == 1
    assert _delivery(alerting, alert_id) == ("webhook", 1, False)
    alerting.config = replace(alerting.config, webhook_allow="127.0.0.0/8")
    alerting.check(start + timedelta(minutes=2))
    assert [b["alert"]["id"] for b in webhook.bodies] == [alert_id]


def test_the_server_wide_webhook_is_signed_and_a_retry_signed_afresh(
    alerting: Alerting, webhook: WebhookReceiver
) -> None:
    """The receiver checks each POST itself (HMAC and at most 5 minutes old): the first try
    is answered 500, the retry must carry a new time, not the first try's header again."""
    webhook.secret = "hook-secret"
    alerting.config = replace(alerting.config, alert_webhook_secret="hook-secret")
    webhook.status = 500
    alerting.answers(1, 1, 1, 1)
    start = datetime.now(UTC)
    (alert_id,) = alerting.check(start)
    assert len(webhook.bodies) == 1 and webhook.refused == []  # verified, then answered 500
    first = _signed_at(webhook.signatures[0])
    while int(time.time()) == first:  # the retry must come in a later second to tell apart
        time.sleep(0.01)
    webhook.status = 204
    alerting.check(start + alerts.retry_delay(1) + timedelta(seconds=1))
    assert len(webhook.bodies) == 2 and webhook.refused == []
    assert _signed_at(webhook.signatures[1]) > first
    assert _delivery(alerting, alert_id) == (None, 2, True)


def test_a_wrong_secret_is_refused_and_a_locations_own_webhook_is_not_signed(
    alerting: Alerting, webhook: WebhookReceiver
) -> None:
    webhook.secret = "hook-secret"
    alerting.config = replace(alerting.config, alert_webhook_secret="not-the-secret")
    alerting.answers(1, 1, 1, 1)
    start = datetime.now(UTC)
    (alert_id,) = alerting.check(start)
    assert webhook.bodies == [] and len(webhook.refused) == 1
    assert _delivery(alerting, alert_id) == ("webhook", 1, False)
    own = WebhookReceiver()  # the server-wide secret is not this location's to sign with
    try:
        with alerting.engine.begin() as conn:
            conn.execute(
                update(locations)
                .where(locations.c.id == alerting.kiosk.location_id)
                .values(webhook_url=own.url)
            )
        alerting.check(start + alerts.retry_delay(1) + timedelta(seconds=1))
        assert [b["alert"]["id"] for b in own.bodies] == [alert_id]
        assert own.signatures == [None]
    finally:
        own.stop()


def _signed_at(header: str | None) -> int:
    assert header is not None
    match = re.fullmatch(r"t=(\d+),v1=[0-9a-f]{64}", header)
    assert match is not None, header
    return int(match.group(1))
