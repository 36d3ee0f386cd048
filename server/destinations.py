"""Alert destinations: what each kind is sent, the form that adds one, and one send.

Three kinds, each in its receiver's own format:

- `webhook` — the generic JSON webhook: the alert's JSON (`server.alerts.payload`), signed
  with the destination's own secret (`X-Smiletap-Signature`, PROTOCOL.md "Operations,
  digests and outgoing messages"; `server.webhooks.signature`);
- `slack` — a Slack incoming webhook: `text` (the notification and fallback line) and
  Block Kit `blocks` (header, the message, location and severity, a button to the dashboard);
- `teams` — a Microsoft Teams channel webhook made with the Workflows app ("Send webhook
  alerts to a channel"): a `message` with one Adaptive Card 1.4 attachment. The Office 365
  connectors' MessageCard format is not sent: Microsoft retired those connectors, and the
  Workflows webhook that replaces them posts Adaptive Cards.

Every send goes through `server.webhooks.post_json` (the SSRF guard, no redirects). A URL must
be https, except for a host listed in `SMILETAP_WEBHOOK_ALLOW` (an internal receiver), where
http is allowed too: a Slack or Teams URL is itself the credential, so it never travels in
clear across the internet. Delivery, its log and its retries are `server.alerts`'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from server import webhooks
from server.settings import Settings
from shared.clock import to_rfc3339
from shared.names import BadNameError, check_single_line, single_line_name

KIND_NAMES = {
    "webhook": "Generic JSON webhook (signed)",
    "slack": "Slack incoming webhook",
    "teams": "Microsoft Teams (Workflows webhook)",
}
NAME_MAX = 200
URL_MAX = 1000
#: Block Kit's limits: a header's plain text, a section's text, a field's text.
_SLACK_HEADER_MAX, _SLACK_TEXT_MAX, _SLACK_FIELD_MAX = 150, 3000, 2000


class BadDestinationError(ValueError):
    """A destination form value that cannot be used; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewDestination:
    """A checked destination form: None for `location_ids` means every location."""

    name: str
    kind: str
    url: str
    location_ids: list[str] | None


def check_url(raw: str, allow: webhooks.AllowList) -> str:
    """The URL trimmed, or `BadDestinationError("url", …)`: one line, https (http only for a host in
    SMILETAP_WEBHOOK_ALLOW), with a host. Whether the host is internal is checked at each
    send, when it is resolved."""
    url = raw.strip()
    try:
        check_single_line(url)
    except BadNameError as exc:
        raise BadDestinationError("url", str(exc)) from None
    if not url:
        raise BadDestinationError("url", "give the address the service showed you (https://…)")
    if len(url) > URL_MAX or any(c.isspace() for c in url):
        raise BadDestinationError(
            "url", f"must be one address without spaces, at most {URL_MAX} long"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise BadDestinationError("url", f"is not a valid address ({exc})") from None
    if parts.scheme not in ("https", "http") or not host:
        raise BadDestinationError("url", "must be an address like https://hooks.example.com/…")
    if parts.scheme == "http" and not allow.lists(host):
        raise BadDestinationError(
            "url", "must start with https:// (http:// only for hosts in SMILETAP_WEBHOOK_ALLOW)"
        )
    return url


def from_form(
    form: Mapping[str, Any], chosen: list[str], known: set[str], allow: webhooks.AllowList
) -> NewDestination:
    """A destination from the dashboard's form (`chosen`: the ticked location ids)."""
    try:
        name = single_line_name(str(form.get("name", "")), NAME_MAX)
    except BadNameError as exc:
        raise BadDestinationError("name", str(exc)) from None
    kind = str(form.get("kind", ""))
    if kind not in KIND_NAMES:
        raise BadDestinationError("kind", "choose a generic webhook, Slack or Microsoft Teams")
    url = check_url(str(form.get("url", "")), allow)
    if form.get("scope", "all") == "all":
        return NewDestination(name, kind, url, None)
    if not chosen:
        raise BadDestinationError("location_id", "tick at least one location, or choose all")
    if any(c not in known for c in chosen):
        raise BadDestinationError("location_id", "unknown location")
    return NewDestination(name, kind, url, sorted(set(chosen)))


@dataclass(frozen=True)
class Notice:
    """What a chat message says, whatever its format."""

    title: str
    severity: str  # warning | critical | test
    location: str
    message: str
    url: str  # the dashboard page; only linked when absolute
    at: str  # RFC 3339


def notice_of(alert: Mapping[str, Any]) -> Notice:
    """The notice of an alert's generic JSON (`server.alerts.payload(...)["alert"]`)."""
    return Notice(
        title=str(alert["title"]),
        severity=str(alert["severity"]),
        location=str(alert["location_name"]),
        message=str(alert["message"]),
        url=str(alert["url"]),
        at=str(alert["opened_at"]),
    )


def test_notice(destination: Mapping[str, Any], url: str, at: datetime) -> Notice:
    """The notice a "send test message" posts."""
    return Notice(
        title="Test message from Smiletap",
        severity="test",
        location="—",
        message=f"Alerts for this destination ({destination['name']}) will be posted here.",
        url=url,
        at=to_rfc3339(at),
    )


def _slack_escaped(text: str, limit: int) -> str:
    """Text for Slack mrkdwn: &, < and > escaped (a name cannot make a link or a mention)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _linkable(url: str) -> bool:
    """Only an absolute URL (SMILETAP_PUBLIC_URL set) can be a button."""
    return url.startswith(("https://", "http://"))


_ICONS = {"warning": "⚠️", "critical": "🚨", "test": "✅"}


def slack_message(notice: Notice) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` for notifications, Block Kit `blocks` to show."""
    icon = _ICONS.get(notice.severity, "")
    header = _clipped(f"{icon} {notice.title}".strip(), _SLACK_HEADER_MAX)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _slack_escaped(notice.message, _SLACK_TEXT_MAX)},
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": "*Location*\n" + _slack_escaped(notice.location, _SLACK_FIELD_MAX),
                },
                {"type": "mrkdwn", "text": f"*Severity*\n{notice.severity}"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Smiletap · {notice.at}"}]},
    ]
    if _linkable(notice.url):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in Smiletap"},
            "url": notice.url,
        }
        blocks.append({"type": "actions", "elements": [button]})
    text = f"{notice.severity}: {notice.title} at {notice.location} — {notice.message}"
    return {"text": _slack_escaped(text, _SLACK_TEXT_MAX), "blocks": blocks}


_TEAMS_COLOURS = {"warning": "Warning", "critical": "Attention", "test": "Good"}


def teams_message(notice: Notice) -> dict[str, Any]:
    """A Teams Workflows webhook body: a message with one Adaptive Card (version 1.4)."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": notice.title,
                "weight": "Bolder",
                "size": "Medium",
                "color": _TEAMS_COLOURS.get(notice.severity, "Default"),
                "wrap": True,
            },
            {"type": "TextBlock", "text": notice.message, "wrap": True},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Location", "value": notice.location},
                    {"title": "Severity", "value": notice.severity},
                    {"title": "Time", "value": notice.at},
                ],
            },
        ],
    }
    if _linkable(notice.url):
        action = {"type": "Action.OpenUrl", "title": "Open in Smiletap", "url": notice.url}
        card["actions"] = [action]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def body_for(kind: str, generic: Mapping[str, Any], notice: Notice) -> dict[str, Any]:
    """What a destination of this kind is sent: the generic JSON, or the chat message."""
    if kind == "slack":
        return slack_message(notice)
    if kind == "teams":
        return teams_message(notice)
    return dict(generic)


def test_body(destination: Mapping[str, Any], link: str, at: datetime) -> dict[str, Any]:
    """The body of a test message to this destination."""
    generic = {
        "test": {
            "destination_id": destination["id"],
            "destination_name": destination["name"],
            "message": "Test message from Smiletap: alerts will be posted here.",
            "sent_at": to_rfc3339(at),
        }
    }
    return body_for(destination["kind"], generic, test_notice(destination, link, at))


@dataclass(frozen=True)
class Outcome:
    """One try's result for the log: the HTTP status (None without an answer) and the error
    (None when delivered)."""

    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def send(settings: Settings, destination: Mapping[str, Any], body: Mapping[str, Any]) -> Outcome:
    """POST `body` to the destination (signed when it has a secret); never raises."""
    allow = webhooks.AllowList.parse(settings.webhook_allow)
    raw = json.dumps(body).encode()
    try:
        status = webhooks.post_json(
            destination["url"],
            raw,
            allow,
            settings.alert_delivery_timeout_s,
            destination.get("secret") or "",
        )
    except webhooks.WebhookFailedError as exc:
        return Outcome(exc.status, str(exc))
    except Exception as exc:  # refused, DNS, timeout, TLS …: logged, never raised further
        return Outcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return Outcome(status, None)
