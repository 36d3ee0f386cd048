"""Alert destinations end to end: added on the dashboard, alerts through the real ingest path
and `alerts.check`, delivered over real HTTP to receivers on loopback that check what they
get — the signature computed independently, Slack's and Teams' own formats — with the log,
retries on an injected clock, the test button, the secret shown once, and bad input."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import alerts, destinations, retention, settings
from server.db import get_engine
from server.settings import Settings
from server.store import alerts as alert_store
from server.store import destinations as store
from server.store import users
from shared.clock import to_rfc3339
from tests.server.alerting import WebhookReceiver, verify_signature
from tests.server.conftest import Kiosk, Smiletap
from tests.server.dashboard.conftest import create_user, login, post

PAGE = "/dashboard/admin/integrations/"
SECRET = re.compile(r'id="signing-secret">(whsec_[0-9a-f]{64})<')
LINK_ROOT = "https://smiletap.example.com"


class Hooks:
    """A location with a kiosk, a signed-in admin, and receivers on loopback on demand."""

    def __init__(self, app: Flask, smiletap: Smiletap) -> None:
        self.app = app
        self.kiosk: Kiosk = smiletap.setup()
        self.other = smiletap.location("Europe/London", "Other")
        assert create_user(smiletap.cli, "boss@example.com", "admin").exit_code == 0
        self.config: Settings = settings.override(
            app, webhook_allow="127.0.0.1", public_url=LINK_ROOT
        )
        self.engine = get_engine(app)
        self.admin: FlaskClient = app.test_client()
        assert login(self.admin, "boss@example.com").status_code == 302
        self.receivers: list[WebhookReceiver] = []

    def receiver(self) -> WebhookReceiver:
        hook = WebhookReceiver()
        self.receivers.append(hook)
        return hook

    def add(self, kind: str, url: str, **form: Any) -> Any:
        """POST the new-destination form; return the response."""
        data = {"name": f"{kind} channel", "kind": kind, "url": url, "scope": "all", **form}
        return post(self.admin, PAGE, data, page=PAGE)

    def added(self, kind: str, url: str, **form: Any) -> str:
        """Add a destination and return its id."""
        with self.engine.begin() as conn:
            before = {d["id"] for d in store.all_destinations(conn)}
        assert self.add(kind, url, **form).status_code in (200, 302)
        with self.engine.begin() as conn:
            [made] = {d["id"] for d in store.all_destinations(conn)} - before
        return str(made)

    def surge(self, now: datetime | None = None) -> int:
        """Four unhappy answers and a check: the surge alert's id."""
        tapped = to_rfc3339(datetime.now(UTC))
        answer = self.kiosk.submit([self.kiosk.item(1, tapped_at=tapped) for _ in range(4)])
        assert answer.status_code == 200
        opened = alerts.check(self.engine, self.config, now)
        assert len(opened) == 1
        return opened[0]

    def check(self, now: datetime) -> None:
        alerts.check(self.engine, self.config, now)

    def log(self, destination_id: str) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return store.log(conn, destination_id)


@pytest.fixture
def hooks(app: Flask, smiletap: Smiletap) -> Iterator[Hooks]:
    made = Hooks(app, smiletap)
    yield made
    for receiver in made.receivers:
        receiver.stop()


def _alert_posts(hook: WebhookReceiver, alert_id: int) -> list[dict[str, Any]]:
    return [b for b in hook.bodies if b.get("alert", {}).get("id") == alert_id]


def test_generic_webhook_is_signed_with_its_own_secret_shown_once(hooks: Hooks) -> None:
    hook = hooks.receiver()
    page = hooks.add("webhook", hook.url)
    assert page.status_code == 200
    found = SECRET.search(page.get_data(as_text=True))
    assert found, "the new secret is on the page that answers the form"
    secret = found.group(1)
    with hooks.engine.begin() as conn:
        destination_id = store.all_destinations(conn)[0]["id"]
    # Never again: not on the destination's page, not in the list.
    for path in (PAGE, f"{PAGE}{destination_id}"):
        later = hooks.admin.get(path).get_data(as_text=True)
        assert secret not in later and "signing-secret" not in later

    hook.secret = secret  # the receiver now refuses (401) whatever is not signed with it
    alert_id = hooks.surge()
    assert hook.refused == [] and len(_alert_posts(hook, alert_id)) == 1
    raw, headers = hook.requests[0]
    link = f"{LINK_ROOT}/dashboard/locations/{hooks.kiosk.location_id}"
    assert json.loads(raw)["alert"]["url"] == link
    # The header, checked by hand from PROTOCOL.md: t=<unix seconds>,v1=<hex HMAC-SHA256>.
    header = headers["X-Smiletap-Signature"]
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    assert match, header
    at = int(match.group(1))
    assert abs(at - datetime.now(UTC).timestamp()) < 60
    expected = hmac.new(secret.encode(), f"{at}.".encode() + raw, hashlib.sha256).hexdigest()
    assert match.group(2) == expected
    # The guide's check refuses a replay (5 minutes later), another body, another key.
    assert verify_signature(secret, header, raw, at + 299)
    assert not verify_signature(secret, header, raw, at + 301)
    assert not verify_signature(secret, header, raw + b" ", at)
    assert not verify_signature(secret + "x", header, raw, at)

    [logged] = hooks.log(destination_id)
    assert (logged["alert_id"], logged["status_code"], logged["error"]) == (alert_id, 204, None)
    shown = hooks.admin.get(f"{PAGE}{destination_id}").get_data(as_text=True)
    assert f"alert {alert_id}" in shown and "204" in shown and "delivered" in shown


def test_slack_and_teams_get_their_own_message_formats(hooks: Hooks) -> None:
    slack, teams = hooks.receiver(), hooks.receiver()
    assert hooks.add("slack", slack.url).status_code == 302  # no secret to show: to its page
    assert hooks.add("teams", teams.url).status_code == 302
    alert_id = hooks.surge()
    link = f"{LINK_ROOT}/dashboard/locations/{hooks.kiosk.location_id}"

    [(raw, headers)] = slack.requests
    assert "X-Smiletap-Signature" not in headers  # the URL is the secret
    message = json.loads(raw)
    assert set(message) == {"text", "blocks"}
    assert "Surge of unhappy answers" in message["text"] and "Centrum" in message["text"]
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    header = message["blocks"][0]["text"]
    assert header["type"] == "plain_text" and "Surge of unhappy answers" in header["text"]
    assert "4 of 4 answers" in message["blocks"][1]["text"]["text"]
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert fields == ["*Location*\nCentrum", "*Severity*\nwarning"]
    button = message["blocks"][4]["elements"][0]
    assert (button["type"], button["url"]) == ("button", link)

    [(raw, headers)] = teams.requests
    assert "X-Smiletap-Signature" not in headers
    message = json.loads(raw)
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    texts = [b.get("text") for b in card["body"] if b["type"] == "TextBlock"]
    assert texts[0] == "Surge of unhappy answers" and "4 of 4 answers" in texts[1]
    [fact_set] = [b for b in card["body"] if b["type"] == "FactSet"]
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert (facts["Location"], facts["Severity"]) == ("Centrum", "warning")
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Smiletap", "url": link}]
    assert alert_id


def test_slack_text_cannot_make_links_or_mentions_and_no_button_without_public_url() -> None:
    notice = destinations.Notice(
        "Kiosk silent", "critical", "A <!channel> & <https://x|y>", "m" * 5000, "/dashboard/", "t"
    )
    message = destinations.slack_message(notice)
    field = message["blocks"][2]["fields"][0]["text"]
    assert field == "*Location*\nA &lt;!channel&gt; &amp; &lt;https://x|y&gt;"
    assert len(message["blocks"][1]["text"]["text"]) == 3000  # Block Kit's limit
    assert "actions" not in [b["type"] for b in message["blocks"]]  # a relative link
    assert "actions" not in destinations.teams_message(notice)["attachments"][0]["content"]


def test_a_failing_destination_is_retried_with_backoff_and_never_stops_the_others(
    hooks: Hooks,
) -> None:
    flaky, steady = hooks.receiver(), hooks.receiver()
    flaky.answers = [500]  # then 204
    flaky_id = hooks.added("webhook", flaky.url)
    steady_id = hooks.added("slack", steady.url)
    start = datetime.now(UTC)
    alert_id = hooks.surge(start)
    assert len(flaky.requests) == 1 and len(steady.requests) == 1
    [failed] = hooks.log(flaky_id)
    assert (failed["attempt"], failed["status_code"]) == (1, 500)
    assert "500" in failed["error"]
    assert failed["retry_at"].replace(tzinfo=UTC) == start + timedelta(minutes=1)

    hooks.check(start + timedelta(seconds=50))  # not yet due
    assert len(flaky.requests) == 1
    hooks.check(start + timedelta(seconds=61))
    assert len(_alert_posts(flaky, alert_id)) == 2 and len(steady.requests) == 1
    newest, first = hooks.log(flaky_id)
    assert (newest["attempt"], newest["status_code"], newest["error"]) == (2, 204, None)
    assert first["retry_at"] is None and newest["retry_at"] is None
    hooks.check(start + timedelta(hours=3))  # (the kiosk is silent by then: another alert)
    assert len(_alert_posts(flaky, alert_id)) == 2  # delivered: nothing more
    steady_tries = [r for r in hooks.log(steady_id) if r["alert_id"] == alert_id]
    assert [r["status_code"] for r in steady_tries] == [204]
    shown = hooks.admin.get(f"{PAGE}{flaky_id}").get_data(as_text=True)
    assert "failed" in shown and "500" in shown and "delivered" in shown


def test_tries_are_bounded_and_spaced_exponentially_up_to_an_hour(hooks: Hooks) -> None:
    dead = hooks.receiver()
    dead.status = 503
    dead_id = hooks.added("teams", dead.url)
    now = datetime.now(UTC)
    alert_id = hooks.surge(now)
    gaps = []
    for _ in range(alerts.MAX_DELIVERY_ATTEMPTS + 2):
        pending = [
            r for r in hooks.log(dead_id) if r["retry_at"] is not None and r["alert_id"] == alert_id
        ]  # (the kiosk falls silent after an hour: that alert's tries are not counted)
        if not pending:
            break
        due = pending[0]["retry_at"].replace(tzinfo=UTC)
        gaps.append(due - now)
        hooks.check(due - timedelta(seconds=1))  # a moment early: not yet
        now = due
        hooks.check(now)
    tries = [r for r in hooks.log(dead_id) if r["alert_id"] == alert_id]
    assert len(tries) == alerts.MAX_DELIVERY_ATTEMPTS
    assert sorted(r["attempt"] for r in tries) == list(range(1, alerts.MAX_DELIVERY_ATTEMPTS + 1))
    assert gaps == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60)]
    assert all(r["retry_at"] is None for r in tries)  # given up


def test_send_test_message_posts_and_logs_it(hooks: Hooks) -> None:
    hook = hooks.receiver()
    page = hooks.add("webhook", hook.url)
    hook.secret = SECRET.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    with hooks.engine.begin() as conn:
        first = store.all_destinations(conn)[0]["id"]
    destination_id = hooks.added("webhook", hook.url, name="second")
    detail = f"{PAGE}{first}"
    answer = post(hooks.admin, f"{detail}/test", page=detail)
    assert answer.status_code == 302 and answer.headers["Location"] == detail
    assert hook.refused == []
    [body] = hook.bodies
    assert body["test"]["destination_id"] == first and body["test"]["message"]
    [logged] = hooks.log(first)
    assert (logged["alert_id"], logged["status_code"], logged["error"]) == (None, 204, None)
    shown = hooks.admin.get(detail).get_data(as_text=True)
    assert "Test message delivered (HTTP 204)" in shown and "test message" in shown
    # Another destination's secret does not sign for this receiver: refused, logged as such.
    answer = post(hooks.admin, f"{PAGE}{destination_id}/test", page=detail)
    assert len(hook.refused) == 1
    [logged] = hooks.log(destination_id)
    assert logged["status_code"] == 401 and "401" in logged["error"]
    assert "Test message failed" in hooks.admin.get(f"{PAGE}{destination_id}").get_data(
        as_text=True
    )


def test_a_paused_destination_gets_nothing_and_chosen_locations_only_theirs(
    hooks: Hooks,
) -> None:
    paused, elsewhere, here = hooks.receiver(), hooks.receiver(), hooks.receiver()
    paused_id = hooks.added("slack", paused.url)
    detail = f"{PAGE}{paused_id}"
    assert post(hooks.admin, f"{detail}/enabled", {"enabled": "0"}, page=detail).status_code == 302
    hooks.added("slack", elsewhere.url, scope="chosen", location_id=hooks.other)
    hooks.added("slack", here.url, scope="chosen", location_id=hooks.kiosk.location_id)
    hooks.surge()
    assert paused.requests == [] and elsewhere.requests == [] and len(here.requests) == 1
    listing = hooks.admin.get(PAGE).get_data(as_text=True)
    assert "paused" in listing and "Other" in listing


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "Line\nbreak"}, "Name: must be one line"),
        ({"name": "   "}, "Name: must not be empty"),
        ({"kind": "irc"}, "Kind: choose"),
        ({"url": "http://hooks.example.com/x"}, "URL: must start with https://"),
        ({"url": "ftp://hooks.example.com/x"}, "URL: must be an address like"),
        ({"url": "not a url"}, "URL: must be one address without spaces"),
        ({"url": "https://"}, "URL: must be an address like"),
        ({"url": "https://hooks.example.com:99999/x"}, "URL: is not a valid address"),
        ({"url": "https://hooks.example.com/\x07"}, "URL: must be one line"),
        ({"url": ""}, "URL: give the address"),
        ({"scope": "chosen"}, "Locations: tick at least one"),
        ({"scope": "chosen", "location_id": "loc_nope"}, "Locations: unknown location"),
    ],
)
def test_bad_input_is_a_form_error_naming_the_field(
    hooks: Hooks, form: dict[str, str], message: str
) -> None:
    data = {"name": "Chat", "kind": "slack", "url": "https://hooks.example.com/x", **form}
    answer = hooks.add(data.pop("kind"), data.pop("url"), **data)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page.replace("&#39;", "'"), page
    with hooks.engine.begin() as conn:
        assert store.all_destinations(conn) == []


def test_http_is_allowed_for_an_allowed_internal_host_only(hooks: Hooks) -> None:
    assert hooks.add("slack", "http://127.0.0.1:9/hook").status_code == 302
    assert hooks.add("slack", "http://10.1.2.3/hook").status_code == 400


def test_managers_do_not_manage_destinations(hooks: Hooks, smiletap: Smiletap) -> None:
    result = create_user(smiletap.cli, "anna@example.com", "manager", hooks.kiosk.location_id)
    assert result.exit_code == 0
    manager = hooks.app.test_client()
    assert login(manager, "anna@example.com").status_code == 302
    assert manager.get(PAGE).status_code == 403
    assert "Integrations" not in manager.get("/dashboard/").get_data(as_text=True)
    assert "Integrations" in hooks.admin.get("/dashboard/").get_data(as_text=True)


def test_erasing_a_location_takes_its_deliveries_and_scope_not_the_destination(
    hooks: Hooks,
) -> None:
    hook = hooks.receiver()
    chosen = hooks.added("slack", hook.url, scope="chosen", location_id=hooks.kiosk.location_id)
    everywhere = hooks.added("slack", hook.url)
    detail = f"{PAGE}{everywhere}"
    post(hooks.admin, f"{detail}/test", page=detail)
    hooks.surge()
    assert len(hooks.log(chosen)) == 1 and len(hooks.log(everywhere)) == 2
    erased = retention.erase_location(hooks.engine, hooks.kiosk.location_id)
    assert erased["alert_deliveries"] == 2 and erased["alert_destination_locations"] == 1
    with hooks.engine.begin() as conn:
        kept = {d["id"]: d for d in store.all_destinations(conn)}
    assert set(kept) == {chosen, everywhere} and kept[chosen]["location_ids"] == []
    assert [r["alert_id"] for r in hooks.log(everywhere)] == [None]  # the test message stays
    shown = hooks.admin.get(f"{PAGE}{chosen}").get_data(as_text=True)
    assert "none (its locations were erased)" in shown


def test_a_mute_holds_back_destinations_and_drops_their_retries(hooks: Hooks) -> None:
    failing = hooks.receiver()
    failing.status = 500
    destination_id = hooks.added("teams", failing.url)
    start = datetime.now(UTC)
    alert_id = hooks.surge(start)
    assert len(failing.requests) == 1
    with hooks.engine.begin() as conn:
        found = users.credentials(conn, "boss@example.com")
        assert found is not None
        alert_store.mute(
            conn, hooks.kiosk.location_id, None, start + timedelta(hours=2), found[0].id
        )
    hooks.check(start + timedelta(seconds=61))
    assert len(failing.requests) == 1  # the retry was due, but the mute holds it back
    assert all(r["retry_at"] is None for r in hooks.log(destination_id))
    hooks.check(start + timedelta(minutes=30))
    assert [r["alert_id"] for r in hooks.log(destination_id)] == [alert_id]
