"""Every dashboard page fits a 360 px phone (and an 800 px tablet) whatever people typed:
long unbroken names, comments, reasons and e-mails never make a page scroll sideways.

Screenshots at 360 px, 800 px and 1280 px land in artifacts/dashboard/fit-*.png.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, Page, expect

from server.db import make_engine
from server.store import destinations
from tests.e2e.test_dashboard_browser import (
    PASSWORD,
    SHOTS,
    _create_user,
    _open_alert,
    _post_json,
    _wire,
    browser,
)
from tests.server.conftest import SURVEY

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the other file

PHONE = {"width": 360, "height": 740}
TABLET = {"width": 800, "height": 1024}  # above the phone layout, below a laptop
DESKTOP = {"width": 1280, "height": 800}
CUSTOM_RANGE = "period=custom&from=2020-01-01&to=2030-12-31"


def _long(label: str, size: int = 120) -> str:
    """An unbroken string: no space, hyphen or slash a browser could wrap at."""
    return (label + "W" * size)[:size]


def _seed_long(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    survey = copy.deepcopy(SURVEY)
    survey["name"] = _long("Survey", 200)
    survey["questions"][0]["text"]["en"] = _long("Question", 300)
    survey["questions"][0]["comment"] = True
    survey["questions"][0]["follow_up"]["reasons"][0]["text"]["en"] = _long("Reason", 300)
    survey["questions"][1]["comment"] = True
    survey["thank_you"]["en"] = _long("Thanks", 300)
    survey_file = tmp_path / "survey.json"
    survey_file.write_text(json.dumps(survey), encoding="utf-8")
    name = _long("Location", 200)
    a = server.cli_here("create-location", "--name", name, "--timezone", "Europe/Warsaw")["id"]
    server.cli_here("create-location", "--name", _long("Other", 200), "--timezone", "Asia/Tokyo")
    survey_id = server.cli_here("create-survey", "--file", str(survey_file))["id"]
    server.cli_here("assign-survey", "--location", a, "--survey", survey_id)
    staff = server.cli_here("create-staff", "--location", a, "--name", _long("Staff", 200))["id"]
    device = server.cli_here("create-device", "--location", a, "--name", _long("Device", 200))
    token = _post_json(server.url + "/api/v1/enroll", {"code": device["code"]})["token"]
    now = datetime.now(UTC)
    comment = "https://example.com/" + "x" * 400  # a pasted URL: the usual unbroken comment
    items = []
    for i, (question, value) in enumerate([("q2", v) for v in (10, 9, 3, 7)] * 3 + [("q1", 1)]):
        answer: dict[str, object] = {"question_id": question, "value": value, "reasons": []}
        if question == "q1":
            answer["reasons"] = ["wait"]
        answer["comment"] = comment
        items.append(
            {
                "id": str(uuid.uuid4()),
                "survey_id": survey_id,
                "survey_version": 1,
                "location_id": a,
                "staff_id": staff,
                "language": "en",
                "tapped_at": _wire(now - timedelta(days=i % 3)),
                "answers": [answer],
                "flags": ["burst"] if i == 0 else [],
            }
        )
    _post_json(
        server.url + "/api/v1/submissions", {"sent_at": _wire(now), "submissions": items}, token
    )
    admin = f"{_long('admin', 60)}@{_long('example', 60)}.example.com"
    _create_user(server, admin, "admin")
    _create_user(server, f"{_long('manager', 60)}@example.com", "manager", a)
    alert_id = _open_alert(server, a)
    destination = _seed_destination(server, a, alert_id, admin)
    return {
        "a": a,
        "survey": survey_id,
        "admin": admin,
        "device": device["device_id"],
        "destination": destination,
    }


def _seed_destination(server: ServerProcess, location_id: str, alert_id: int, admin: str) -> str:
    """A destination with a long name, URL and error in its log (the error holds what the
    receiver answered: anything)."""
    engine = make_engine(f"sqlite:///{server.instance_dir / 'smiletap.db'}")
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            url = "https://hooks.example.com/" + "x" * 400
            made, _ = destinations.create(
                conn, _long("Destination", 200), "slack", url, [location_id], admin
            )
            error = _long("Error", 400)
            retry_at = now + timedelta(minutes=1)
            destinations.record(conn, made, alert_id, 1, now, 500, error, retry_at)
            destinations.record(conn, made, None, 1, now, 204, None, None)
    finally:
        engine.dispose()
    return made


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Locations")


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 when it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_every_page_fits_a_phone_with_long_unbroken_text(
    server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    ids = _seed_long(server, tmp_path)
    base = server.url
    pages = {
        "overview": "/dashboard/",
        "location": f"/dashboard/locations/{ids['a']}",
        "location-custom": f"/dashboard/locations/{ids['a']}?{CUSTOM_RANGE}",
        "business": "/dashboard/business",
        "kpi-upload": "/dashboard/kpis/upload",
        "followups": f"/dashboard/locations/{ids['a']}/followups?{CUSTOM_RANGE}&status=all",
        "devices": "/dashboard/devices/",
        "device-revoke": f"/dashboard/devices/{ids['device']}/revoke",
        "alerts": "/dashboard/alerts/",
        "admin-locations": "/dashboard/admin/locations/",
        "admin-location": f"/dashboard/admin/locations/{ids['a']}",
        "admin-surveys": "/dashboard/admin/surveys/",
        "admin-survey": f"/dashboard/admin/surveys/{ids['survey']}",
        "admin-users": "/dashboard/admin/users",
        "admin-api-keys": "/dashboard/admin/api-keys",
        "admin-integrations": "/dashboard/admin/integrations/",
        "admin-integration": f"/dashboard/admin/integrations/{ids['destination']}",
        "digest": "/account/digest",
        # The mail's own HTML (no dashboard menu), so not last: the menu check follows.
        "digest-preview": "/account/digest/preview?period=daily",
        "password": "/account/password",
        "two-step": "/account/two-step/",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    wide: dict[str, int] = {}
    for size, viewport in (("phone", PHONE), ("tablet", TABLET), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/login")
        page.screenshot(path=str(SHOTS / f"fit-login-{size}.png"), full_page=True)
        if _overflow(page) > 0:
            wide[f"login-{size}"] = _overflow(page)
        _sign_in(page, base, ids["admin"])
        for name, path in pages.items():
            answer = page.goto(base + path)
            assert answer is not None and answer.ok, (name, answer and answer.status)
            if name.startswith("location"):
                expect(page.locator("body")).to_have_attribute("data-charts", "ready")
            page.screenshot(path=str(SHOTS / f"fit-{name}-{size}.png"), full_page=True)
            if _overflow(page) > 0:
                wide[f"{name}-{size}"] = _overflow(page)
        if size == "phone":
            # The menu opens from its button, and then fits too.
            page.click("label.menu-button")
            expect(page.locator("header.top nav")).to_be_visible()
            page.screenshot(path=str(SHOTS / "fit-menu-open-phone.png"))
            if _overflow(page) > 0:
                wide["menu-open-phone"] = _overflow(page)
        context.close()
    assert wide == {}, f"pages wider than the screen (px): {wide}"
    _period_picker_applies_at_once(browser, base, ids["admin"])
    assert errors == []


def _period_picker_applies_at_once(browser: Browser, base: str, email: str) -> None:
    """A preset applies when picked; "Custom dates" shows the dates, which apply when set."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _sign_in(page, base, email)
    expect(page.locator("form.period .period-apply")).to_be_hidden()  # the script applies
    expect(page.locator("form.period .period-dates")).to_be_hidden()
    with page.expect_navigation():
        page.select_option("form.period select[name=period]", "month")
    assert "period=month" in page.url
    expect(page.locator("form.period select[name=period]")).to_have_value("month")
    page.select_option("form.period select[name=period]", "custom")
    expect(page.locator("form.period .period-dates")).to_be_visible()
    with page.expect_navigation():
        page.fill("form.period input[name=from]", "2026-01-01")
    assert "period=custom" in page.url and "from=2026-01-01" in page.url
    expect(page.locator("form.period .period-text")).to_contain_text("1 Jan – ")
    context.close()
