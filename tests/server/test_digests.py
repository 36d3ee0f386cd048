"""Digests end to end: answers through the real ingest path, the digest mailed to a real SMTP
server on loopback (aiosmtpd), and what arrives parsed with the email library."""

from __future__ import annotations

import json
import re
from email.header import decode_header, make_header
from email.message import Message

from server import settings
from server.digests import periods
from server.store import followups
from tests.server.alerting import SmtpServer, free_port
from tests.server.digesting import Digesting, digesting

__all__ = ["digesting"]  # the fixture, shared with the other digest tests


def _parts(message: Message) -> dict[str, Message]:
    return {part.get_content_type(): part for part in message.walk()}


def _header(message: Message, name: str) -> str:
    return str(make_header(decode_header(message[name])))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")


def test_send_digest_mails_both_parts_an_inline_chart_and_the_reports_numbers(
    digesting: Digesting, smtp: SmtpServer
) -> None:
    result = digesting.smiletap.cli.json(
        "send-digest", "--email", "Anna@Example.com", "--period", "weekly"
    )
    assert set(result) == {"sent", "to", "subject"}
    assert result["sent"] is True and result["to"] == "anna@example.com"
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["anna@example.com"]
    assert message["To"] == "anna@example.com"
    assert _header(message, "Subject") == result["subject"]
    assert result["subject"].startswith("Smiletap weekly digest: ")
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert {"text/plain", "multipart/related", "text/html", "image/png"} <= set(parts)
    image = parts["image/png"]
    assert image.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[index]
    assert image["Content-Disposition"].startswith("inline")
    cid = image["Content-ID"].strip("<>")
    html, text = _text(parts["text/html"]), _text(parts["text/plain"])
    assert f'src="cid:{cid}"' in html

    # The numbers are those of GET /api/v1/reports/scores for the same weeks.
    week = digesting.week
    key = digesting.smiletap.api_key("admin")
    now = digesting.smiletap.scores(key, **{"from": week.first, "to": week.last}).get_json()
    before = digesting.smiletap.scores(
        key, **{"from": week.previous_first, "to": week.previous_last}
    ).get_json()
    smiley, smiley_before = now["groups"][0]["smiley"], before["groups"][0]["smiley"]
    lo, hi = smiley["ci95"]
    shown = f"Smiley +: {smiley['positive_share']:.1f}% (95 % interval {lo:.1f}% – {hi:.1f}%"
    assert shown in text
    assert f"before: {smiley_before['positive_share']:.1f}%" in text
    assert f"Answers: {now['groups'][0]['n']} (period before: {before['groups'][0]['n']})" in text
    # 33 % against 100 %: the intervals lie apart, so the move is called down.
    assert re.search(r"Smiley \+: .* · down$", text, re.M)
    assert "move-down" in html
    assert "Waiting (How was it?): 1" in text
    assert "The queue was far too long" in text and "The queue was far too long" in html
    assert "https://smiletap.example.com/dashboard/" in text
    # The follow-up figures are the store's: the one answer with a reason waits.
    with digesting.engine.begin() as conn:
        stats = followups.followup_stats(conn, [digesting.kiosk.location_id], week.first, week.last)
    assert (stats.handled, stats.open) == (0, 1)
    assert "Followed up: 0 handled, 1 waiting" in text
    link = f"https://smiletap.example.com/dashboard/locations/{digesting.kiosk.location_id}"
    assert link in html


def test_a_small_period_says_not_enough_responses_and_no_move(
    digesting: Digesting, smtp: SmtpServer
) -> None:
    digesting.smiletap.cli.json("send-digest", "--email", "boss@example.com", "--period", "daily")
    text = _text(_parts(smtp.messages[0][1])["text/plain"])
    assert "daily digest" in _header(smtp.messages[0][1], "Subject")
    assert " · up" not in text and " · down" not in text


def test_send_digest_for_an_unknown_email_fails_clearly(digesting: Digesting) -> None:
    result = digesting.smiletap.cli.invoke("send-digest", "--email", "nobody@example.com", "--json")
    assert result.exit_code != 0
    assert "nobody@example.com" in result.output and "no dashboard user" in result.output


def test_send_digest_without_a_mail_server_fails_clearly(
    digesting: Digesting, smtp: SmtpServer
) -> None:
    settings.override(digesting.app, smtp_port=free_port())  # nobody listens there
    result = digesting.smiletap.cli.invoke("send-digest", "--email", "anna@example.com")
    assert result.exit_code != 0
    assert "digest not sent" in result.output


def test_numbers_and_dates_follow_the_users_locale(digesting: Digesting, smtp: SmtpServer) -> None:
    from server.store import digests as store
    from server.store import users

    with digesting.engine.begin() as conn:
        found = users.credentials(conn, "anna@example.com")
        assert found
        store.set_choice(conn, found[0].id, store.Choice("weekly", "07:00", "de_DE"))
    digesting.smiletap.cli.json("send-digest", "--email", "anna@example.com")
    text = _text(_parts(smtp.messages[0][1])["text/plain"])
    # Babel's German: decimal comma, a (no-break) space before %, German month names.
    assert re.search(r"Smiley \+: 33,3\s%", text), text
    assert re.search(r"100,0\s%", text)
    assert re.search(r"(Nov|Dez)\.", text)


def test_periods_are_the_last_complete_ones_on_the_stores_clock() -> None:
    from datetime import UTC, date, datetime

    # 23:30 UTC on Sunday 6 Dec 2026 is already Monday 7 Dec in Warsaw.
    now = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    week = periods.last_complete("weekly", now, "Europe/Warsaw")
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    assert (week.previous_first, week.previous_last) == (date(2026, 11, 23), date(2026, 11, 29))
    in_london = periods.last_complete("weekly", now, "Europe/London")
    assert (in_london.first, in_london.last) == (date(2026, 11, 23), date(2026, 11, 29))
    month = periods.last_complete("monthly", now, "Europe/Warsaw")
    assert (month.first, month.last) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (month.previous_first, month.previous_last) == (date(2026, 10, 1), date(2026, 10, 31))
    day = periods.last_complete("daily", now, "Europe/Warsaw")
    assert (day.first, day.last, day.previous_first) == (
        date(2026, 12, 6),
        date(2026, 12, 6),
        date(2026, 12, 5),
    )
    assert json.dumps(week.key) == '"weekly:2026-11-30"'
