"""The digest page: one's own choice saved (bad fields refused by name), the preview with its
chart, and "send to me now" through a real SMTP server on loopback."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.store import digests as store
from server.store import users
from tests.server.alerting import SmtpServer
from tests.server.dashboard.conftest import login, post
from tests.server.digesting import Digesting, digesting

__all__ = ["digesting"]  # the fixture, shared with the other digest tests


@pytest.fixture
def anna(digesting: Digesting) -> FlaskClient:
    client = digesting.app.test_client()
    assert login(client, "anna@example.com").status_code == 302
    return client


def _choice(digesting: Digesting, email: str) -> store.Choice | None:
    with digesting.engine.begin() as conn:
        found = users.credentials(conn, email)
        assert found
        return store.choice(conn, found[0].id)


def test_the_page_shows_the_defaults_and_saves_a_choice(
    digesting: Digesting, anna: FlaskClient
) -> None:
    page = anna.get("/account/digest").get_data(as_text=True)
    assert 'value="weekly" checked' in page and 'value="07:00"' in page
    assert "Europe/Warsaw" in page
    form = {"period": "daily", "time": "18:30", "locale": "de-DE"}
    answer = post(anna, "/account/digest", form, page="/account/digest")
    assert answer.status_code == 302
    assert _choice(digesting, "anna@example.com") == store.Choice("daily", "18:30", "de_DE")


@pytest.mark.parametrize(
    ("field", "value"),
    [("period", "hourly"), ("time", "25:00"), ("time", "7"), ("locale", "xx_QQ_zz")],
)
def test_a_bad_field_is_a_400_naming_it(
    digesting: Digesting, anna: FlaskClient, field: str, value: str
) -> None:
    form = {"period": "weekly", "time": "07:00", "locale": "en", field: value}
    answer = post(anna, "/account/digest", form, page="/account/digest")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert f'name="{field}"' in page and 'aria-invalid="true"' in page
    assert _choice(digesting, "anna@example.com") == store.Choice()


def test_the_preview_shows_the_digest_with_its_chart_for_own_locations_only(
    digesting: Digesting, anna: FlaskClient
) -> None:
    digesting.smiletap.location("Europe/London", "Zeta Mall")  # not Anna's
    answer = anna.get("/account/digest/preview")
    assert answer.status_code == 200
    assert "style-src 'unsafe-inline'" in answer.headers["Content-Security-Policy"]
    assert "script-src" not in answer.headers["Content-Security-Policy"]
    html = answer.get_data(as_text=True)
    assert "Centrum" in html and "Zeta Mall" not in html
    assert 'src="/account/digest/chart.png?period=weekly"' in html
    chart = anna.get("/account/digest/chart.png?period=weekly")
    assert chart.status_code == 200 and chart.mimetype == "image/png"
    assert chart.data[:8] == b"\x89PNG\r\n\x1a\n"
    daily = anna.get("/account/digest/preview?period=daily").get_data(as_text=True)
    assert "Daily digest" in daily


def test_send_to_me_now_mails_the_signed_in_user(
    digesting: Digesting, anna: FlaskClient, smtp: SmtpServer
) -> None:
    answer = post(anna, "/account/digest/send", {"period": "monthly"}, page="/account/digest")
    assert answer.status_code == 302
    assert [rcpt for rcpt, _ in smtp.messages] == [["anna@example.com"]]
    assert "Sent" in anna.get("/account/digest").get_data(as_text=True)


def test_send_to_me_now_needs_the_csrf_token(digesting: Digesting, anna: FlaskClient) -> None:
    assert anna.post("/account/digest/send").status_code == 400
