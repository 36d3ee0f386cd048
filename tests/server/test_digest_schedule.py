"""The digest schedule: due times per time zone on an injected clock, once per period across
runs and restarts, only the latest period after an outage, a failed delivery retried; mail to
a real SMTP server on loopback."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from server import jobs, settings
from server.app import create_app
from server.db import dispose_engine, get_engine
from server.digests import periods, schedule
from tests.server.alerting import SmtpServer, free_port
from tests.server.digesting import ZONE, Digesting, digesting

__all__ = ["digesting"]  # the fixture, shared with the other digest tests


def _subjects(smtp: SmtpServer) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for _, m in smtp.messages]


@pytest.mark.parametrize(
    ("kind", "zone", "now", "first"),
    [
        # Weekly at 07:00 in Warsaw (UTC+1): due at 06:00 UTC on Monday 7 Dec.
        ("weekly", "Europe/Warsaw", datetime(2026, 12, 7, 5, 59, tzinfo=UTC), date(2026, 11, 23)),
        ("weekly", "Europe/Warsaw", datetime(2026, 12, 7, 6, 0, tzinfo=UTC), date(2026, 11, 30)),
        # The same in New York (UTC−5): due at 12:00 UTC.
        (
            "weekly",
            "America/New_York",
            datetime(2026, 12, 7, 11, 59, tzinfo=UTC),
            date(2026, 11, 23),
        ),
        (
            "weekly",
            "America/New_York",
            datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
            date(2026, 11, 30),
        ),
        # Daily: yesterday once 07:00 has passed, else the day before.
        ("daily", "Asia/Tokyo", datetime(2026, 12, 6, 21, 59, tzinfo=UTC), date(2026, 12, 5)),
        ("daily", "Asia/Tokyo", datetime(2026, 12, 6, 22, 0, tzinfo=UTC), date(2026, 12, 6)),
        # Monthly: November from 07:00 on 1 Dec.
        ("monthly", "Europe/Warsaw", datetime(2026, 12, 1, 5, 59, tzinfo=UTC), date(2026, 10, 1)),
        ("monthly", "Europe/Warsaw", datetime(2026, 12, 1, 6, 0, tzinfo=UTC), date(2026, 11, 1)),
    ],
)
def test_the_latest_due_period_follows_the_first_locations_clock(
    kind: str, zone: str, now: datetime, first: date
) -> None:
    assert periods.latest_due(kind, time(7), zone, now).first == first


def test_a_chosen_delivery_time_moves_the_due_moment() -> None:
    period = periods.before("weekly", date(2026, 12, 7))
    assert periods.due_at(period, time(18, 30), ZONE) == datetime(2026, 12, 7, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["7:00", "24:00", "07:60", "0７:00", "07-00", ""])
def test_a_bad_delivery_time_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        periods.parse_time(raw)


def test_a_due_digest_is_sent_once_and_never_again_after_a_restart(
    digesting: Digesting, smtp: SmtpServer, database_url: str, tmp_path: Path
) -> None:
    digesting.choose("anna@example.com", "weekly", "07:00")
    fell_due = periods.due_at(digesting.week, time(7), ZONE)
    # A minute before 07:00 the latest due digest is the week before's (never sent: it goes).
    early = schedule.run(digesting.engine, digesting.config, fell_due - timedelta(minutes=1))
    assert early == ["anna@example.com"]
    last = digesting.week.previous_last
    assert f"{last.day}, {last.year}" in _subjects(smtp)[0]
    smtp.messages.clear()
    sent = schedule.run(digesting.engine, digesting.config, fell_due)
    assert sent == ["anna@example.com"]
    assert schedule.run(digesting.engine, digesting.config, fell_due + timedelta(hours=2)) == []
    # A new process on the same database (a restart) does not send it again either.
    other = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "b")}
    )
    try:
        later = fell_due + timedelta(days=1)
        assert schedule.run(get_engine(other), digesting.config, later) == []
    finally:
        dispose_engine(other)
    assert len(smtp.messages) == 1
    words = f"{digesting.week.last.day}, {digesting.week.last.year}"
    assert _subjects(smtp)[0].startswith("Smiletap weekly digest: ") and words in _subjects(smtp)[0]


def test_after_an_outage_only_the_latest_period_is_sent(
    digesting: Digesting, smtp: SmtpServer
) -> None:
    digesting.choose("anna@example.com", "daily", "07:00")
    # Ten days without the scheduler: ten daily digests were missed; one goes out.
    back = periods.due_at(digesting.week, time(7), ZONE) + timedelta(days=10, hours=3)
    assert schedule.run(digesting.engine, digesting.config, back) == ["anna@example.com"]
    assert schedule.run(digesting.engine, digesting.config, back + timedelta(hours=1)) == []
    assert len(smtp.messages) == 1
    yesterday = periods.last_complete("daily", back, ZONE).first
    assert f"{yesterday.day}, {yesterday.year}" in _subjects(smtp)[0]


def test_a_failed_delivery_is_logged_and_retried_at_the_next_run(
    digesting: Digesting, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    digesting.choose("anna@example.com", "weekly")
    fell_due = periods.due_at(digesting.week, time(7), ZONE)
    dead = settings.override(digesting.app, smtp_port=free_port())  # nobody listens there
    with caplog.at_level(logging.WARNING, logger="server.digests.schedule"):
        assert schedule.run(digesting.engine, dead, fell_due) == []
    assert "anna@example.com not sent" in caplog.text
    assert digesting.week.key in caplog.text
    retried = schedule.run(digesting.engine, digesting.config, fell_due + timedelta(minutes=5))
    assert retried == ["anna@example.com"]
    assert len(smtp.messages) == 1


def test_nobody_with_none_and_no_mail_server_means_no_digest(
    digesting: Digesting, smtp: SmtpServer
) -> None:
    fell_due = periods.due_at(digesting.week, time(7), ZONE)
    digesting.choose("anna@example.com", "none")
    assert schedule.run(digesting.engine, digesting.config, fell_due) == []
    digesting.choose("anna@example.com", "weekly")
    no_mail = settings.override(digesting.app, smtp_host="")
    assert schedule.run(digesting.engine, no_mail, fell_due) == []
    assert smtp.messages == []


def test_the_digest_job_runs_once_across_processes(digesting: Digesting, smtp: SmtpServer) -> None:
    job = next(j for j in jobs.JOBS if j.name == "send-digests")
    assert job.period_s(digesting.config) == 300
    assert jobs.run_job(digesting.engine, job, 300, digesting.config) is True
    assert jobs.run_job(digesting.engine, job, 300, digesting.config) is False
