"""Retention: the purge (comments, raw answers, id conflicts), the rollups it must leave alone,
and erasing one location — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from server import coverage, jobs, retention, settings
from server.db import get_engine
from server.store import followups, pending_rollups, users
from server.store import retention as retention_store
from server.store.schema import (
    DELETE_ORDER,
    answers,
    id_conflicts,
    rollups_day_parts,
    submissions,
)
from shared.clock import to_rfc3339, utcnow
from tests.server.conftest import Cli, Kiosk, Smiletap

NOW = datetime.now(UTC)


def _tap(kiosk: Kiosk, days_ago: float, value: int, comment: str | None = None) -> dict[str, Any]:
    item = kiosk.item(value, tapped_at=to_rfc3339(NOW - timedelta(days=days_ago)))
    item["answers"][0]["comment"] = comment
    return item


def _submit(kiosk: Kiosk, items: list[dict[str, Any]]) -> None:
    response = kiosk.submit(items)
    assert response.status_code == 200, response.json
    assert {r["status"] for r in response.json["results"]} == {"accepted"}, response.json


def _scores(smiletap: Smiletap, key: str) -> dict[str, Any]:
    every_day = {
        "from": (NOW - timedelta(days=400)).date().isoformat(),
        # A day past UTC's: in Europe/Warsaw a tap at NOW is on the next day from 23:00 UTC.
        "to": (NOW + timedelta(days=1)).date().isoformat(),
    }
    found = {}
    for group_by in ("location", "day", "weekday_hour", "staff"):
        response = smiletap.scores(key, group_by=group_by, **every_day)
        assert response.status_code == 200, response.json
        found[group_by] = response.json
    # The KPI report's answers per day come from raw submissions, and from the counts the
    # purge keeps of the days it deleted.
    headers = {"Authorization": f"Bearer {key}"}
    kpis = smiletap.client.get(
        "/api/v1/reports/kpis", query_string={"group_by": "day", **every_day}, headers=headers
    )
    assert kpis.status_code == 200, kpis.json
    found["kpis"] = kpis.json
    return found


def _raw(app: Flask) -> dict[str, tuple[str | None, str]]:
    """Each stored submission's comment (its one answer's) and stored payload, by id."""
    s, a = submissions.c, answers.c
    with get_engine(app).connect() as conn:
        rows = conn.execute(
            select(s.id, a.comment, s.payload).join(answers, a.submission_id == s.id)
        )
        return {row.id: (row.comment, row.payload) for row in rows}


def _day_parts(app: Flask) -> list[tuple[Any, ...]]:
    """Every row of the day parts, in key order (the link report's source)."""
    with get_engine(app).connect() as conn:
        query = select(rollups_day_parts).order_by(*rollups_day_parts.primary_key.columns)
        return [tuple(row) for row in conn.execute(query)]


def _retain(app: Flask, answer_days: int, comment_days: int) -> None:
    settings.override(app, answer_retention_days=answer_days, comment_retention_days=comment_days)


def test_purge_removes_only_what_is_past_retention_and_keeps_the_scores(
    app: Flask, smiletap: Smiletap, runner: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Today's coverage in the KPI report counts the opening minutes already past, so it
    # changes when a minute turns between two reads (a flake seen on PostgreSQL, the slower
    # run): the reads compared here are made at one instant. The purge touches no contact.
    at = utcnow()
    monkeypatch.setattr(coverage, "utcnow", lambda: at)
    kiosk = smiletap.setup()
    old = [_tap(kiosk, 100, v, "slow service") for v in (1, 2, 5)]
    middle = [_tap(kiosk, 20, v, "cold coffee") for v in (3, 4)]
    recent = [_tap(kiosk, 2, 5, "lovely"), _tap(kiosk, 0, 1)]
    _submit(kiosk, old + middle + recent)
    _handle_all(app, kiosk.location_id)
    key = smiletap.api_key()
    before = _scores(smiletap, key)
    assert len(before["day"]["groups"]) == 4  # the four days with answers
    parts_before = _day_parts(app)
    assert sum(sum(row[6:]) for row in parts_before) == 7  # the seven answers
    assert sum(group["answers"] for group in before["kpis"]["groups"]) == 7
    _retain(app, answer_days=60, comment_days=10)

    dry = runner.json("purge", "--dry-run")
    assert (dry["submissions"], dry["answers"], dry["comments"]) == (3, 3, 5)
    assert dry["dry_run"] is True
    assert len(_raw(app)) == 7  # a dry run changes nothing

    done = runner.json("purge")
    # Comments are blanked before answers go, so the old ones count there too.
    assert (done["submissions"], done["answers"], done["comments"]) == (3, 3, 5)
    assert done["other_rows"] == {"followups": 3}  # a follow-up goes with its answer
    assert (
        done["answers_kept_from"] == ((NOW - timedelta(days=60)).date() - timedelta(1)).isoformat()
    )
    raw = _raw(app)
    assert set(raw) == {item["id"] for item in middle + recent}
    assert _day_parts(app) == parts_before
    for item in middle:
        comment, payload = raw[item["id"]]
        assert comment is None
        assert "cold coffee" not in payload
        assert json.loads(payload)["answers"][0]["comment"] is None
    assert raw[recent[0]["id"]][0] == "lovely"

    assert _scores(smiletap, key) == before
    engine = get_engine(app)
    assert jobs.check_rollups(engine) == 0  # the check keeps the purged days' rollups
    assert runner.json("rebuild-rollups")["rows"] > 0
    assert _scores(smiletap, key) == before
    assert _day_parts(app) == parts_before  # rebuilt from the hourly rows the purge kept

    again = runner.json("purge")
    assert (again["submissions"], again["comments"], again["batches"]) == (0, 0, 0)

    # A resend of a tap whose comment was blanked is still a duplicate, not an id conflict.
    response = kiosk.submit([middle[0]])
    assert response.json["results"][0]["status"] == "duplicate"


def test_zero_keeps_everything(app: Flask, smiletap: Smiletap, runner: Cli) -> None:
    kiosk = smiletap.setup()
    _submit(kiosk, [_tap(kiosk, 900, 2, "years ago")])
    _retain(app, answer_days=0, comment_days=0)
    done = runner.json("purge")
    assert done["answers_kept_from"] is None and done["comments_kept_from"] is None
    assert [c for c, _ in _raw(app).values()] == ["years ago"]


def test_comment_retention_alone_keeps_the_answers(app: Flask, smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    items = [_tap(kiosk, 40, v, f"comment {v}") for v in (1, 2, 3, 4, 5)]
    _submit(kiosk, items)
    _retain(app, answer_days=0, comment_days=30)
    report = retention.purge(get_engine(app), settings.of(app), batch=2)
    assert report.batches == 3  # five taps, two a batch
    assert report.comments == 5 and report.submissions == 0
    assert [c for c, _ in _raw(app).values()] == [None] * 5


def test_the_scheduled_job_purges_once(app: Flask, smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    _submit(kiosk, [_tap(kiosk, 50, 1)])
    _retain(app, answer_days=30, comment_days=0)
    job = next(job for job in jobs.JOBS if job.name == "purge")
    engine = get_engine(app)
    assert jobs.run_job(engine, job, 3600, settings.of(app))
    assert not jobs.run_job(engine, job, 3600, settings.of(app))  # leased this period
    assert _raw(app) == {}


def test_old_id_conflicts_go_too(app: Flask, smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = _tap(kiosk, 1, 5, "call me")
    _submit(kiosk, [item])
    changed = {**item, "answers": [{**item["answers"][0], "value": 4}]}
    assert kiosk.submit([changed]).json["results"][0]["reason"] == "id_conflict"
    engine = get_engine(app)
    with engine.begin() as conn:
        conn.execute(id_conflicts.update().values(at=NOW - timedelta(days=20)))
    _retain(app, answer_days=0, comment_days=10)
    assert retention.purge(engine, settings.of(app)).id_conflicts == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(id_conflicts)).scalar_one() == 0


def test_first_kept_day() -> None:
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    assert retention.first_kept_day(0, now) is None
    assert retention.first_kept_day(7, now) == date(2026, 3, 2)


def _handle_all(app: Flask, location_id: str) -> str:
    """A manager of the location handles every one of its comments (follow-ups); their id."""
    with get_engine(app).begin() as conn:
        manager = users.create(conn, f"m-{location_id}@example.com", "x", "manager", [location_id])
        ids = conn.execute(
            select(submissions.c.id).where(submissions.c.location_id == location_id)
        ).scalars()
        for sid in ids:
            item = followups.get(conn, sid)
            if item is not None:
                assert followups.handle(conn, sid, item, "called back", manager)
    return manager


def _location_rows(app: Flask, location_id: str) -> dict[str, int]:
    with get_engine(app).connect() as conn:
        return retention_store.count_location_rows(conn, location_id)


def test_erase_location_removes_all_of_it_and_nothing_else(
    app: Flask, smiletap: Smiletap, runner: Cli
) -> None:
    gone, kept = smiletap.setup(), smiletap.setup()
    for kiosk in (gone, kept):
        runner.json("create-staff", "--location", kiosk.location_id, "--name", "Ann")
        runner.json("create-touchpoint", "--location", kiosk.location_id, "--name", "Door")
        _submit(kiosk, [_tap(kiosk, d, 1, "bad") for d in (0, 1, 30)])
    with get_engine(app).connect() as conn:
        pending_rollups.caught_up(conn)  # the rollups are erased too: count them first
        heartbeat = {"sent_at": to_rfc3339(NOW), "app_version": "1", "backlog": 0}
        kiosk.post("/api/v1/heartbeat", json=heartbeat)
    smiletap.api_key("manager", gone.location_id, kept.location_id)
    managers = [_handle_all(app, kiosk.location_id) for kiosk in (gone, kept)]
    kept_before = _location_rows(app, kept.location_id)
    listed = _location_rows(app, gone.location_id)
    expected = {"locations", "submissions", "answers", "devices", "staff", "rollups", "followups",
                "rollups_day_parts"}  # fmt: skip
    assert expected <= set(listed)

    dry = runner.invoke("erase-location", gone.location_id)
    assert dry.exit_code == 0 and "add --yes" in dry.output
    assert _location_rows(app, gone.location_id) == listed

    erased = runner.json("erase-location", gone.location_id, "--yes")
    assert erased["rows"] == listed
    assert _location_rows(app, gone.location_id) == {}
    assert _location_rows(app, kept.location_id) == kept_before
    with get_engine(app).connect() as conn:  # the manager stays, without the location
        user = users.get(conn, managers[0])
        assert user is not None and user.location_ids == frozenset()
    with get_engine(app).connect() as conn:  # nothing anywhere names it any more
        for table in DELETE_ORDER:
            if "location_id" in table.c:
                found = select(func.count()).where(table.c.location_id == gone.location_id)
                assert conn.execute(found).scalar_one() == 0, table.name

    again = runner.invoke("erase-location", gone.location_id, "--yes")
    assert again.exit_code != 0
    assert "LOCATION_ID: no location" in again.output
