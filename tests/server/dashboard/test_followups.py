"""Following up what customers said: the list, handling and assigning, the figures, closing an
alert with a note; a manager acts on their own locations only and bad input is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import update

from server.db import get_db
from server.store import alerts, followups, users
from server.store.schema import followups as followups_table
from tests.server.dashboard.conftest import Chain, create_user, post, store_said

LIST = "/dashboard/locations/{}/followups"


def _seed(chain: Chain) -> dict[str, str]:
    """At A: a happy answer (nothing to follow up), a low one with reasons, a comment."""
    kiosk = chain.kiosk
    happy, low, commented = kiosk.item(5), kiosk.item(1), kiosk.item(4)
    low["answers"][0]["reasons"] = ["wait", "rude"]
    commented["answers"][0]["comment"] = "Lovely coffee, slow queue"
    assert kiosk.submit([happy, low, commented]).status_code == 200
    return {"happy": happy["id"], "low": low["id"], "commented": commented["id"]}


def _user_id(app: Flask, email: str) -> str:
    with app.app_context():
        conn = get_db()
        with conn.begin():
            found = users.credentials(conn, email)
    assert found is not None
    return found[0].id


def _items(html: str) -> list[str]:
    return re.findall(r'data-submission="([^"]+)"', html)


def test_the_list_holds_comments_and_low_answers_with_reasons(chain: Chain) -> None:
    said = _seed(chain)
    html = chain.client("manager").get(LIST.format(chain.a)).get_data(as_text=True)
    assert sorted(_items(html)) == sorted([said["low"], said["commented"]])
    assert "Waiting, Rude" in html and "Lovely coffee, slow queue" in html
    assert 'id="open-n">2<' in html and 'id="handled-n">0<' in html


def test_newest_first(app: Flask, chain: Chain) -> None:
    now = datetime.now(UTC)
    older = store_said(app, chain.a, chain.kiosk.device_id, "older", now - timedelta(hours=3))
    newer = store_said(app, chain.a, chain.kiosk.device_id, "newer", now - timedelta(hours=1))
    html = chain.client("manager").get(LIST.format(chain.a)).get_data(as_text=True)
    assert _items(html) == [newer, older]


def test_handle_with_a_note_then_the_filters(app: Flask, chain: Chain) -> None:
    said = _seed(chain)
    client = chain.client("manager")
    page = LIST.format(chain.a)
    answer = post(
        client,
        f"/dashboard/followups/{said['low']}/handle?status=all",
        {"note": "Apologised and sent a voucher"},
        page,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"{page}?status=all")  # the same filters
    todo = client.get(page).get_data(as_text=True)
    assert "Marked handled." in todo
    assert _items(todo) == [said["commented"]]
    handled = client.get(page + "?status=handled").get_data(as_text=True)
    assert _items(handled) == [said["low"]]
    assert "Apologised and sent a voucher" in handled and "anna@example.com" in handled
    assert 'id="handled-n">1<' in handled and 'id="open-n">1<' in handled
    again = post(client, f"/dashboard/followups/{said['low']}/handle", {"note": "twice"}, page)
    assert again.status_code == 302
    assert "handled already" in client.get(page).get_data(as_text=True)
    location = client.get(f"/dashboard/locations/{chain.a}").get_data(as_text=True)
    assert 'id="followups-handled">1<' in location and 'id="followups-open">1<' in location


def test_assign_to_a_colleague_and_assigned_to_me(app: Flask, chain: Chain) -> None:
    said = _seed(chain)
    page = LIST.format(chain.a)
    manager = chain.client("manager")
    admin_id = _user_id(app, "admin@example.com")
    answer = post(
        manager, f"/dashboard/followups/{said['commented']}/assign", {"assignee_id": admin_id}, page
    )
    assert answer.status_code == 302
    mine = chain.client("admin").get(page + "?mine=1").get_data(as_text=True)
    assert _items(mine) == [said["commented"]]
    assert "Assigned to <strong>admin@example.com" in mine
    assert _items(manager.get(page + "?mine=1").get_data(as_text=True)) == []
    assigned = manager.get(page + "?status=assigned").get_data(as_text=True)
    assert _items(assigned) == [said["commented"]]
    assert _items(manager.get(page + "?status=open").get_data(as_text=True)) == [said["low"]]


def test_bad_input_is_refused_with_a_form_error(app: Flask, chain: Chain) -> None:
    said = _seed(chain)
    cli = chain.smiletap.cli
    assert create_user(cli, "bea@example.com", "manager", chain.b).exit_code == 0
    elsewhere = _user_id(app, "bea@example.com")
    client = chain.client("manager")
    page = LIST.format(chain.a)
    handle = f"/dashboard/followups/{said['low']}/handle"
    cases = {
        "x" * (followups.NOTE_MAX_LENGTH + 1): "The note must be at most 500 characters.",
        "line one\nline two": "The note must be one line without control characters",
        "bell\x07": "(it holds U+0007)",
        "   ": "The note must not be empty.",
    }
    for note, message in cases.items():
        answer = post(client, handle, {"note": note}, page)
        assert answer.status_code == 400, note
        html = answer.get_data(as_text=True)
        assert message in html and 'aria-invalid="true"' in html, note
    assign = f"/dashboard/followups/{said['low']}/assign"
    for assignee in ("usr_nobody", elsewhere, ""):
        answer = post(client, assign, {"assignee_id": assignee}, page)
        assert answer.status_code == 400, assignee
        assert "choose a colleague who can see this location" in answer.get_data(as_text=True)
    assert _items(client.get(page + "?status=open").get_data(as_text=True)) == sorted(
        [said["low"], said["commented"]], key=_items(client.get(page).get_data(as_text=True)).index
    )
    missing = post(client, "/dashboard/followups/nope/handle", {"note": "x"}, page)
    assert missing.status_code == 403  # a manager learns nothing of what is not theirs
    happy = post(client, f"/dashboard/followups/{said['happy']}/handle", {"note": "x"}, page)
    assert happy.status_code == 403  # nothing to follow up there
    admin = chain.client("admin")
    assert post(admin, "/dashboard/followups/nope/handle", {"note": "x"}, page).status_code == 404


def test_another_locations_manager_is_refused(app: Flask, chain: Chain) -> None:
    at_b = store_said(app, chain.b, chain.device_b, "Cold soup")
    client = chain.client("manager")  # a manager of A only
    page = LIST.format(chain.a)
    assert client.get(LIST.format(chain.b)).status_code == 403
    handled = post(client, f"/dashboard/followups/{at_b}/handle", {"note": "done"}, page)
    assert handled.status_code == 403
    me = _user_id(app, "anna@example.com")
    assigned = post(client, f"/dashboard/followups/{at_b}/assign", {"assignee_id": me}, page)
    assert assigned.status_code == 403
    html = chain.client("admin").get(LIST.format(chain.b)).get_data(as_text=True)
    assert _items(html) == [at_b] and 'id="open-n">1<' in html  # nothing was changed


def test_median_time_to_handle(app: Flask, chain: Chain) -> None:
    said_at = datetime.now(UTC) - timedelta(days=1)
    device = chain.kiosk.device_id
    ids = [store_said(app, chain.a, device, f"c{i}", said_at) for i in range(5)]
    other = store_said(app, chain.b, chain.device_b, "at B", said_at)
    waits = [timedelta(minutes=10), timedelta(hours=2), timedelta(hours=5), timedelta(hours=9)]
    admin_id = _user_id(app, "admin@example.com")
    with app.app_context():
        conn = get_db()
        with conn.begin():
            for submission_id in [*ids[:4], other]:
                item = followups.get(conn, submission_id)
                assert item is not None
                assert followups.handle(conn, submission_id, item, "done", admin_id)
            for submission_id, wait in zip(ids, waits, strict=False):
                conn.execute(
                    update(followups_table)
                    .where(followups_table.c.submission_id == submission_id)
                    .values(handled_at=said_at + wait)
                )
            conn.execute(
                update(followups_table)
                .where(followups_table.c.submission_id == other)
                .values(handled_at=said_at + timedelta(days=9))
            )
        day = said_at.date()
        with conn.begin():
            at_a = followups.followup_stats(conn, [chain.a], day, day)
            both = followups.followup_stats(conn, None, day, day)
            before = followups.followup_stats(
                conn, [chain.a], day - timedelta(days=3), day - timedelta(days=1)
            )
    # Four handled at A: the median of 10 min, 2 h, 5 h, 9 h is (2 h + 5 h) / 2 = 3.5 h.
    assert at_a == followups.FollowupStats(handled=4, open=1, median_seconds=3.5 * 3600)
    assert both.handled == 5 and both.open == 1 and both.median_seconds == 5 * 3600
    assert before == followups.FollowupStats(handled=0, open=0, median_seconds=None)
    page = chain.client("manager").get(f"/dashboard/locations/{chain.a}?period=7")
    html = page.get_data(as_text=True)
    assert 'id="followups-handled">4<' in html and 'id="followups-median">3 hr 30 min<' in html


def test_close_an_alert_with_a_note(app: Flask, chain: Chain) -> None:
    with app.app_context():
        conn = get_db()
        with conn.begin():
            alert_id = alerts.open_episode(conn, chain.a, "surge", "", "warning", "4 of 4")
            foreign = alerts.open_episode(conn, chain.b, "surge", "", "warning", "5 of 5")
    client = chain.client("manager")
    page = "/dashboard/alerts/"
    too_long = post(client, f"{page}{alert_id}/close", {"note": "x" * 501}, page)
    assert too_long.status_code == 400
    assert "The note must be at most 500 characters." in too_long.get_data(as_text=True)
    assert post(client, f"{page}{foreign}/close", {"note": "done"}, page).status_code == 403
    closed = post(client, f"{page}{alert_id}/close", {"note": "Extra till opened"}, page)
    assert closed.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Closed by anna@example.com" in html and "Extra till opened" in html
    with app.app_context():
        conn = get_db()
        with conn.begin():
            episode = alerts.get(conn, alert_id)
    assert episode is not None and episode["state"] == "closed" and episode["closed_at"]
    assert post(client, f"{page}{alert_id}/close", {"note": "again"}, page).status_code == 302
    assert "closed already" in client.get(page).get_data(as_text=True)


def test_deleting_a_submission_takes_its_follow_up_with_it(app: Flask, chain: Chain) -> None:
    """Retention's purge and erase-location delete submissions through the foreign-key walk:
    a follow-up row goes with its submission (PostgreSQL enforces the key)."""
    from sqlalchemy import func, select

    from server.store import retention

    said = store_said(app, chain.a, chain.kiosk.device_id, "Cold coffee")
    admin_id = _user_id(app, "admin@example.com")
    with app.app_context():
        conn = get_db()
        with conn.begin():
            item = followups.get(conn, said)
            assert item is not None and followups.handle(conn, said, item, "Refunded", admin_id)
        with conn.begin():
            deleted = retention.delete_submissions(conn, [said], keep_counts=False)
        with conn.begin():
            left = conn.execute(select(func.count()).select_from(followups_table)).scalar_one()
    assert deleted["followups"] == 1 and deleted["submissions"] == 1
    assert left == 0
