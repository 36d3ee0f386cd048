"""The digest's preview in headless Chromium: the mail's HTML with its chart loaded, fitting
a 360 px phone and a desktop; screenshots in artifacts/dashboard/digest-*.png."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, expect

from tests.e2e.test_dashboard_browser import (
    PASSWORD,
    SHOTS,
    _create_user,
    _post_json,
    _wire,
    browser,
)
from tests.e2e.test_dashboard_fit_browser import DESKTOP, PHONE, _overflow

pytestmark = pytest.mark.e2e
__all__ = ["browser"]


def _seed(server: ServerProcess, tmp_path_name: str) -> str:
    a = server.cli_here(
        "create-location", "--name", "Warszawa Centrum", "--timezone", "Europe/Warsaw"
    )
    server.cli_here("create-location", "--name", "Kraków Rynek", "--timezone", "Europe/Warsaw")
    survey = server.cli_here("create-survey", "--file", "deploy/examples/demo-survey.json")["id"]
    server.cli_here("assign-survey", "--location", a["id"], "--survey", survey)
    device = server.cli_here("create-device", "--location", a["id"], "--name", "Door")
    token = _post_json(server.url + "/api/v1/enroll", {"code": device["code"]})["token"]
    now = datetime.now(UTC)
    items = []
    for i, value in enumerate([5, 5, 4, 1, 2, 5, 4, 5] * 6):
        answer: dict[str, object] = {"question_id": "q1", "value": value, "reasons": []}
        items.append(
            {
                "id": str(uuid.uuid4()),
                "survey_id": survey,
                "survey_version": 1,
                "location_id": a["id"],
                "staff_id": None,
                "language": "en",
                "tapped_at": _wire(now - timedelta(days=1 + i % 10, minutes=i)),
                "answers": [answer],
                "flags": [],
            }
        )
    _post_json(
        server.url + "/api/v1/submissions", {"sent_at": _wire(now), "submissions": items}, token
    )
    email = f"boss-{tmp_path_name}@example.com"
    _create_user(server, email, "admin")
    return email


def test_the_digest_preview_shows_its_chart_and_fits_phone_and_desktop(
    server: ServerProcess, browser: Browser
) -> None:
    email = _seed(server, uuid.uuid4().hex[:6])
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" else None
        )
        page.goto(server.url + "/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(server.url + "/account/digest")
        expect(page.locator("h1")).to_have_text("E-mailed digest")
        page.screenshot(path=str(SHOTS / f"digest-settings-{size}.png"), full_page=True)
        assert _overflow(page) == 0
        with page.expect_navigation():
            page.click("text=Preview in the browser")
        expect(page.locator("h1")).to_contain_text("Weekly digest")
        expect(page.locator("h2").first).to_contain_text("Kraków Rynek")
        chart = page.locator("img").first
        chart.scroll_into_view_if_needed()
        loaded = page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
        )
        assert loaded
        width = page.evaluate("document.querySelector('img').getBoundingClientRect().width")
        assert 0 < width <= viewport["width"]
        page.screenshot(path=str(SHOTS / f"digest-preview-{size}.png"), full_page=True)
        assert _overflow(page) == 0, f"{size}: wider than the screen"
        context.close()
    assert errors == []
