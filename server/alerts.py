"""Alert rules, their episodes, and delivery by e-mail and webhook.

Three rules per location, with defaults from settings that a location may override
(`locations.alert_rules`, JSON):

- surge: at least ALERT_SURGE_SHARE % of the answers of the last ALERT_SURGE_WINDOW_S seconds
  are unhappy (`shared.scoring.is_unhappy`), with at least ALERT_SURGE_MIN_N answers;
- drop: per question, this week's 95 % interval (the last 7 store-local days) lies wholly
  below last week's (the 7 days before), computed with `shared.scoring` from the rollups;
- silent: an enrolled kiosk that is not healthy (`server.device_health`: without contact for
  DEVICE_WARNING_SILENT_S while its location is open is a warning, for
  DEVICE_CRITICAL_SILENT_S at any time critical).

`check` runs every rule once (the scheduler runs it once across processes), opens an episode
when a rule starts to hold, closes it when it stops, and notifies each new or escalated
episode once: mail to the admins and the location's managers, and a JSON POST to the
location's webhook or the global one. Each channel is tried on its own: one that fails (a
dead mail server, a refused webhook, a header that cannot be built) is logged and never stops
the other channel or the other episodes; it is retried at later checks after
`retry_delay(attempt)` — 1, 2, 4 … minutes, at most an hour apart — until it goes out or
`MAX_DELIVERY_ATTEMPTS` tries have failed, so a broken mail server never turns into a storm.

Besides, each notification goes to every enabled alert destination for its location
(`server.destinations`: a signed generic webhook, Slack, Teams), each on its own: every try is
a row of that destination's delivery log, and a failed one is retried on the same schedule,
for that destination alone.

A user may mute a location's rule, or all its rules, for a while (`MUTE_DURATIONS`): episodes
still open and close and are shown, but a notification due while a mute holds is not sent,
and the episode records the mute instead (`muted_by`). It is not sent later either: the mute
said "we know". Acknowledging an episode only records who saw it and when.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from server import destinations, device_health, mail, metrics, webhooks
from server.settings import Settings
from server.store import alerts as store
from server.store import as_utc, devices, locations, pending_rollups, rollups, submissions, users
from server.store import destinations as destination_store
from shared import scoring
from shared.clock import to_rfc3339, utcnow
from shared.names import as_one_line

log = logging.getLogger(__name__)

RULE_NAMES = {
    "surge": "Surge of unhappy answers",
    "drop": "Week-over-week drop",
    "silent": "Kiosk silent",
}


#: How long a mute may hold, by form value: (label, duration).
MUTE_DURATIONS = {
    "1h": ("1 hour", timedelta(hours=1)),
    "1d": ("1 day", timedelta(days=1)),
    "1w": ("1 week", timedelta(weeks=1)),
}


@dataclass(frozen=True)
class Finding:
    """A rule that holds now: where, what about, how bad, and a sentence for people."""

    location_id: str
    rule: str
    subject: str
    severity: str
    message: str


def rules_for(location: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The location's rules: the settings' defaults with its overrides on top."""
    rules: dict[str, Any] = {
        "surge": True,
        "surge_share": settings.alert_surge_share,
        "surge_min_n": settings.alert_surge_min_n,
        "surge_window_s": settings.alert_surge_window_s,
        "drop": settings.alert_drop,
        "silent": True,
    }
    if location.get("alert_rules"):
        rules.update(json.loads(location["alert_rules"]))
    return rules


class BadRulesError(ValueError):
    """An alert rule override that cannot be used; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


#: Form field → (rule key, lowest, highest, scale to the stored unit).
_NUMBERS = {
    "alert_surge_share": ("surge_share", 1, 100, 1),
    "alert_surge_min_n": ("surge_min_n", 1, 10000, 1),
    "alert_surge_window_min": ("surge_window_s", 1, 1440, 60),
}


def rules_from_form(form: Mapping[str, str]) -> dict[str, Any] | None:
    """A location's overrides from its settings form; blank numbers keep the defaults.

    None when the form carries no rules section (e.g. the new-location form).
    """
    if not form.get("alert_rules_form"):
        return None
    rules: dict[str, Any] = {
        key: bool(form.get(f"alert_{key}")) for key in ("surge", "drop", "silent")
    }
    for field, (key, low, high, unit) in _NUMBERS.items():
        raw = form.get(field, "").strip()
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            raise BadRulesError(field, f"{raw!r} is not a number") from None
        if not low <= number <= high:
            raise BadRulesError(field, f"must be within {low}..{high}")
        rules[key] = int(number) if key == "surge_min_n" else number * unit
    return rules


def surge_findings(
    conn: Connection, places: list[dict[str, Any]], settings: Settings, now: datetime
) -> list[Finding]:
    """Locations where the unhappy share of the recent window reaches the threshold."""
    rules = {p["id"]: rules_for(p, settings) for p in places}
    longest = max((r["surge_window_s"] for r in rules.values() if r["surge"]), default=0.0)
    tally: dict[str, list[tuple[datetime, bool]]] = {}
    watched = [p["id"] for p in places if rules[p["id"]]["surge"]]
    for row in submissions.recent_answers(conn, now - timedelta(seconds=longest), watched):
        bad = scoring.is_unhappy(row["kind"], row["scale"], row["value"])
        tally.setdefault(row["location_id"], []).append((as_utc(row["effective_at"]), bad))  # type: ignore[arg-type]
    found = []
    for place in places:
        rule = rules[place["id"]]
        if not rule["surge"]:
            continue
        since = now - timedelta(seconds=rule["surge_window_s"])
        window = [bad for at, bad in tally.get(place["id"], []) if at >= since]
        n, unhappy = len(window), sum(window)
        if n >= rule["surge_min_n"] and 100 * unhappy >= rule["surge_share"] * n:
            minutes = round(rule["surge_window_s"] / 60)
            share = round(100 * unhappy / n)
            message = f"{unhappy} of {n} answers ({share} %) unhappy in the last {minutes} min"
            found.append(Finding(place["id"], "surge", "", "warning", message))
    return found


def _interval(
    kind: str, scale: int, counts: dict[int, int]
) -> tuple[float, tuple[float, float]] | None:
    if kind == "nps":
        m = scoring.nps(counts)
        return (m.score, m.ci95) if m else None
    if kind == "csat":
        s = scoring.csat(counts)
        return (s.score, s.ci95) if s else None
    if kind == "ces":
        c = scoring.ces(counts, scale)
        return (c.mean, c.mean_ci95) if c else None
    sm = scoring.smiley(counts, scale)
    return (sm.positive_share, sm.ci95) if sm else None


def drop_findings(
    conn: Connection, places: list[dict[str, Any]], settings: Settings, now: datetime
) -> list[Finding]:
    """Questions whose interval this week lies wholly below last week's."""
    found = []
    for place in places:
        if not rules_for(place, settings)["drop"]:
            continue
        today = now.astimezone(ZoneInfo(place["timezone"])).date()
        this_week = rollups.value_counts(conn, place["id"], today - timedelta(days=6), today)
        last_week = rollups.value_counts(
            conn, place["id"], today - timedelta(days=13), today - timedelta(days=7)
        )
        for key in sorted(set(this_week) & set(last_week)):
            question_id, kind, scale = key
            now_m = _interval(kind, scale, this_week[key])
            before = _interval(kind, scale, last_week[key])
            if now_m and before and scoring.clear_move(now_m[1], before[1]) < 0:
                message = (
                    f"{question_id} ({kind}) fell from {before[0]} [{before[1][0]}–{before[1][1]}] "
                    f"last week to {now_m[0]} [{now_m[1][0]}–{now_m[1][1]}] this week"
                )
                found.append(Finding(place["id"], "drop", question_id, "warning", message))
    return found


def silent_findings(
    conn: Connection, places: list[dict[str, Any]], settings: Settings, now: datetime
) -> tuple[list[Finding], set[tuple[str, str, str]]]:
    """Silent kiosks, and the episodes to leave as they are (silent, but the store is closed)."""
    by_id = {p["id"]: p for p in places}
    warning_s = settings.device_warning_silent_s
    critical_s = settings.device_critical_silent_s
    found, keep = [], set()
    for device in devices.watched(conn):
        place = by_id.get(device["location_id"])
        if place is None or not rules_for(place, settings)["silent"]:
            continue
        health = device_health.of_device(device, place, now, warning_s, critical_s)
        assert health is not None  # watched devices are enrolled and not revoked
        hours = f"{health.silent_s / 3600:.1f} h"
        name = f"{device['name']} ({device['id']})"
        if health.state == "critical":
            message = f"{name} has not been in contact for {hours}"
            found.append(Finding(place["id"], "silent", device["id"], "critical", message))
        elif health.state == "warning":
            message = f"{name} silent for {hours} while the store is open"
            found.append(Finding(place["id"], "silent", device["id"], "warning", message))
        elif health.waiting_for_opening:
            keep.add((place["id"], "silent", device["id"]))
    return found, keep


SEVERITY = {"warning": 1, "critical": 2}

#: The ways a notification goes out; a failed one is retried on its own.
CHANNELS = ("mail", "webhook")
#: Tries of one notification before it is given up (about two hours of retries).
MAX_DELIVERY_ATTEMPTS = 8
_FIRST_RETRY = timedelta(minutes=1)
_LONGEST_RETRY = timedelta(hours=1)


def retry_delay(attempt: int) -> timedelta:
    """How long after failed try number `attempt` (1, 2, …) the next one is due."""
    doubled: timedelta = _FIRST_RETRY * 2 ** (attempt - 1)
    return min(doubled, _LONGEST_RETRY)


def evaluate(conn: Connection, settings: Settings, now: datetime) -> list[int]:
    """Open, escalate and close episodes; return the ids that need a notification."""
    places = locations.all_locations(conn)
    findings = surge_findings(conn, places, settings, now)
    findings += drop_findings(conn, places, settings, now)
    silent, keep = silent_findings(conn, places, settings, now)
    findings += silent
    episodes = store.open_episodes(conn)
    notify = []
    holding = set()
    for f in findings:
        key = (f.location_id, f.rule, f.subject)
        holding.add(key)
        current = episodes.get(key)
        if current is None:
            notify.append(store.open_episode(conn, *key, f.severity, f.message))
        elif SEVERITY[f.severity] > SEVERITY[current["severity"]]:
            store.escalate(conn, current["id"], f.severity, f.message)
            notify.append(current["id"])
    for key, episode in episodes.items():
        if key not in holding and key not in keep:
            store.close_episode(conn, episode["id"])
    return notify


def link(settings: Settings, episode: Mapping[str, Any]) -> str:
    """Where the episode is seen on the dashboard (absolute when PUBLIC_URL is set)."""
    if episode["rule"] == "silent":
        path = "/dashboard/devices/"
    else:
        path = f"/dashboard/locations/{episode['location_id']}"
    return settings.public_url.rstrip("/") + path


def payload(settings: Settings, episode: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook's JSON body for an episode."""
    return {
        "alert": {
            "id": episode["id"],
            "rule": episode["rule"],
            "title": RULE_NAMES[episode["rule"]],
            "severity": episode["severity"],
            "state": episode["state"],
            "location_id": episode["location_id"],
            "location_name": episode["location_name"],
            "subject": episode["subject"] or None,
            "message": episode["message"],
            "opened_at": to_rfc3339(as_utc(episode["opened_at"])),  # type: ignore[arg-type]
            "url": link(settings, episode),
        }
    }


def send_mail(settings: Settings, recipients: list[str], subject: str, body: str) -> None:
    """Send one plain-text mail through the configured SMTP server."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    mail.send(settings, message)


def post_webhook(settings: Settings, url: str, body: dict[str, Any], secret: str = "") -> None:
    """POST the JSON body to the webhook (`server.webhooks`: no internal addresses unless
    allowed, no redirects), signed with `secret` when set; a refusal or a non-2xx answer
    raises."""
    allow = webhooks.AllowList.parse(settings.webhook_allow)
    timeout = settings.alert_delivery_timeout_s
    webhooks.post_json(url, json.dumps(body).encode(), allow, timeout, secret)


def deliver(
    settings: Settings,
    episode: dict[str, Any],
    recipients: list[str],
    channels: set[str] | None = None,
) -> set[str]:
    """Mail and webhook for one episode (or only `channels`); return the channels that failed.

    Each failure is logged and the other channel still tried.
    """
    rule, place = RULE_NAMES[episode["rule"]], episode["location_name"]
    title = as_one_line(f"[Smiletap] {episode['severity']}: {rule} at {place}")
    body = f"{episode['message']}\n\nSee {link(settings, episode)}\n"
    wanted = set(CHANNELS) if channels is None else channels
    failed = set()
    if "mail" in wanted and settings.smtp_host and recipients:
        try:
            send_mail(settings, recipients, title, body)
            metrics.ALERTS_SENT.labels(channel="mail").inc()
        except Exception as exc:  # whatever one channel raises must not stop the rest
            log.warning("alert %s: mail not sent: %r", episode["id"], exc)
            metrics.ALERT_FAILURES.labels(channel="mail").inc()
            failed.add("mail")
    url = episode.get("webhook_url") or settings.alert_webhook_url
    # The server-wide secret is for the server-wide URL only: a location's own webhook has
    # no signing secret yet, so it goes unsigned rather than signed with someone else's key.
    secret = "" if episode.get("webhook_url") else settings.alert_webhook_secret
    if "webhook" in wanted and url:
        try:
            post_webhook(settings, url, payload(settings, episode), secret)
            metrics.ALERTS_SENT.labels(channel="webhook").inc()
        except Exception as exc:  # as above: a refused URL, a timeout, an HTTP error …
            log.warning("alert %s: webhook not sent: %r", episode["id"], exc)
            metrics.ALERT_FAILURES.labels(channel="webhook").inc()
            failed.add("webhook")
    return failed


def _record_delivery(
    engine: Engine, episode: Mapping[str, Any], failed: set[str], now: datetime
) -> None:
    attempt = int(episode["delivery_attempts"] or 0) + 1
    with engine.begin() as conn:
        if not failed:
            store.mark_notified(conn, episode["id"])
        elif attempt >= MAX_DELIVERY_ATTEMPTS:
            log.error(
                "alert %s: %s not sent after %d tries: given up",
                episode["id"],
                " and ".join(sorted(failed)),
                attempt,
            )
            store.mark_delivery_failed(conn, episode["id"], failed, None)
        else:
            retry_at = now + retry_delay(attempt)
            store.mark_delivery_failed(conn, episode["id"], failed, retry_at)


def check(engine: Engine, settings: Settings, now: datetime | None = None) -> list[int]:
    """Run every rule once, notify new or escalated episodes that no mute holds back, and
    retry the failed deliveries that are due; return the ids of the new or escalated ones
    (muted or not)."""
    now = now or utcnow()
    with pending_rollups.begin_caught_up(engine) as conn:
        notify = evaluate(conn, settings, now)
        places = {p["id"]: p for p in locations.all_locations(conn)}
        due: list[tuple[dict[str, Any], set[str] | None]] = [
            (episode, None) for episode in store.by_ids(conn, notify)
        ]
        due += [
            (episode, set(episode["pending_channels"].split(",")))
            for episode in store.due_retries(conn, now)
            if episode["id"] not in notify
        ]
        outbox = []
        sends: list[DestinationSend] = []
        for episode, channels in due:
            mute_id = store.active_mute(conn, episode["location_id"], episode["rule"], now)
            if mute_id is not None:
                store.mark_muted(conn, episode["id"], mute_id)
                store.drop_retry(conn, episode["id"])
                log.info("alert %s: not sent, muted by mute %s", episode["id"], mute_id)
                continue
            place = places[episode["location_id"]]
            extra = {"location_name": place["name"], "webhook_url": place["webhook_url"]}
            recipients = users.alert_recipients(conn, episode["location_id"])
            outbox.append(({**episode, **extra}, recipients, channels))
            if channels is None:  # a new notice: every destination; retries are their own
                sends += [
                    DestinationSend({**episode, **extra}, destination, 1)
                    for destination in destination_store.for_location(conn, place["id"])
                ]
        sends += _due_destination_retries(conn, places, now)
    # Delivery happens outside the transaction: a slow mail server must not hold the database.
    for episode, recipients, channels in outbox:
        failed = deliver(settings, episode, recipients, channels)
        _record_delivery(engine, episode, failed, now)
    for send in sends:
        send_to_destination(engine, settings, send, now)
    return notify


@dataclass(frozen=True)
class DestinationSend:
    """One try of one episode's notice to one destination."""

    episode: dict[str, Any]  # with `location_name`
    destination: dict[str, Any]
    attempt: int


def _due_destination_retries(
    conn: Connection, places: Mapping[str, Mapping[str, Any]], now: datetime
) -> list[DestinationSend]:
    """The destination tries due again (taken off the queue), unless a mute now holds their
    episode back."""
    due = []
    for row in destination_store.claim_due(conn, now):
        episode = store.get(conn, row["alert_id"]) if row["alert_id"] is not None else None
        destination = destination_store.get(conn, row["destination_id"])
        if episode is None or destination is None:
            continue
        if store.active_mute(conn, episode["location_id"], episode["rule"], now) is not None:
            log.info("alert %s: retry to %s dropped, muted", episode["id"], destination["id"])
            continue
        extra = {"location_name": places[episode["location_id"]]["name"]}
        due.append(DestinationSend({**episode, **extra}, destination, row["attempt"] + 1))
    return due


def send_to_destination(
    engine: Engine, settings: Settings, send: DestinationSend, now: datetime
) -> destinations.Outcome:
    """Post one notice in the destination's format and log the try; a failure is due again
    after `retry_delay(attempt)` until MAX_DELIVERY_ATTEMPTS tries. Never raises."""
    destination, episode = send.destination, send.episode
    generic = payload(settings, episode)
    notice = destinations.notice_of(generic["alert"])
    body = destinations.body_for(destination["kind"], generic, notice)
    outcome = destinations.send(settings, destination, body)
    retry_at = None
    if outcome.ok:
        metrics.ALERTS_SENT.labels(channel="destination").inc()
    else:
        metrics.ALERT_FAILURES.labels(channel="destination").inc()
        if send.attempt < MAX_DELIVERY_ATTEMPTS:
            retry_at = now + retry_delay(send.attempt)
        log.warning(
            "alert %s: destination %s try %d failed (%s)%s",
            episode["id"],
            destination["id"],
            send.attempt,
            outcome.error,
            "" if retry_at else ": given up",
        )
    with engine.begin() as conn:
        destination_store.record(
            conn,
            destination["id"],
            episode["id"],
            send.attempt,
            now,
            outcome.status_code,
            outcome.error,
            retry_at,
        )
    return outcome
