"""Following up in a real Chromium against a real `smiletap-server run`: a manager opens the
"to follow up" list from the location page, marks one handled with a note, assigns one to a
colleague, filters, and closes an alert with a note; another location's list is refused.

Screenshots at 1280 and 360 px land in artifacts/dashboard/followups-*.png.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, expect

from tests.e2e.test_dashboard_browser import (
    SHOTS,
    _login,
    _open_alert,
    _post_json,
    _seed,
    _wire,
    browser,
)

pytestmark = pytest.mark.e2e
__all__ = ["browser"]

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}


def _comment(server: ServerProcess, location_id: str, token: str, survey_id: str) -> None:
    """Two commented answers at the location (one happy, one not), an hour apart."""
    now = datetime.now(UTC)
    items = [
        {
            "id": str(uuid.uuid4()),
            "survey_id": survey_id,
            "survey_version": 1,
            "location_id": location_id,
            "staff_id": None,
            "language": "en",
            "tapped_at": _wire(now - timedelta(hours=hours)),
            "answers": [
                {"question_id": "q1", "value": value, "reasons": reasons, "comment": comment}
            ],
            "flags": [],
        }
        for hours, value, reasons, comment in (
            (1, 1, ["rude"], "The cashier ignored me for five minutes."),
            (2, 5, [], "Lovely new bakery corner!"),
        )
    ]
    _post_json(
        server.url + "/api/v1/submissions", {"sent_at": _wire(now), "submissions": items}, token
    )


def test_follow_up_in_a_browser(server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    ids = _seed(server, tmp_path)
    device = server.cli_here("create-device", "--location", ids["a"], "--name", "Tills")
    token = _post_json(server.url + "/api/v1/enroll", {"code": device["code"]})["token"]
    _comment(server, ids["a"], token, _survey_of(server, ids["a"]))
    alert_id = _open_alert(server, ids["a"])
    base = server.url
    errors: list[str] = []
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "anna@example.com")  # a manager of location A
    page.goto(f"{base}/dashboard/locations/{ids['a']}")
    expect(page.locator("#followups-open")).to_have_text("4")
    page.click("#to-follow-up")
    expect(page.locator("h1")).to_have_text("To follow up")
    cards = page.locator("#followups li.followup")
    expect(cards).to_have_count(4)  # two low answers with reasons, two comments
    rude = page.locator("#followups li.followup", has_text="The cashier ignored me")
    rude.locator("input[name=note]").fill("Spoke to the cashier; apologised by phone.")
    rude.locator("form.handle-form button").click()
    expect(page.locator(".flash")).to_contain_text("Marked handled.")
    expect(cards).to_have_count(3)  # the default list holds what is still to do

    bakery = page.locator("#followups li.followup", has_text="Lovely new bakery corner!")
    bakery.locator("select[name=assignee_id]").select_option(label="admin@example.com")
    bakery.locator("form.assign-form button").click()
    expect(page.locator(".flash")).to_contain_text("Assigned to admin@example.com.")
    expect(bakery.locator(".assigned-to")).to_contain_text("admin@example.com")
    expect(page.locator("#handled-n")).to_have_text("1")
    expect(page.locator("#median-time")).not_to_have_text("–")

    with page.expect_navigation():
        page.select_option("#status-picker", "handled")  # applies at once
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".handled-note")).to_contain_text("apologised by phone")
    expect(cards.first.locator(".handled-note")).to_contain_text("anna@example.com")
    with page.expect_navigation():
        page.select_option("#status-picker", "all")
    cookies = context.cookies()
    list_url = page.url

    # Another location's list is refused (in a page of its own: a 403 is a console error).
    other = context.new_page()
    answer = other.goto(f"{base}/dashboard/locations/{ids['b']}/followups")
    assert answer is not None and answer.status == 403
    other.close()

    page.goto(base + "/dashboard/alerts/")
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    row.locator("form.alert-close input[name=note]").fill("Opened a second till.")
    row.locator("form.alert-close button").click()
    expect(page.locator(".flash")).to_contain_text("Alert closed.")
    expect(row.locator(".closed-note")).to_contain_text("Opened a second till.")
    context.close()

    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in WIDTHS.items():
        shot = browser.new_context(viewport=viewport)
        shot.add_cookies(cookies)
        look = shot.new_page()
        for name, url in (
            ("followups", list_url),
            ("followups-alerts", base + "/dashboard/alerts/"),
        ):
            look.goto(url)
            width = look.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert width == 0, (name, size, width)
            look.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        shot.close()
    assert errors == []


def _survey_of(server: ServerProcess, location_id: str) -> str:
    from sqlalchemy import select

    from server.db import make_engine
    from server.store.schema import locations

    engine = make_engine(f"sqlite:///{server.instance_dir / 'smiletap.db'}")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(locations.c.survey_id).where(locations.c.id == location_id)
            ).scalar_one()
    finally:
        engine.dispose()
    return str(found)
