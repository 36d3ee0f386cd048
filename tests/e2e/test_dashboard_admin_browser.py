"""Admin pages and alerts in a real Chromium against a real `smiletap-server run` whose
scheduler runs the alert check: create a location, edit a survey into a new version, make an
API key, and see a surge alert listed (and posted to a webhook).

Screenshots of every page at desktop and phone widths land in artifacts/dashboard/.
"""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, expect

from tests.e2e.test_dashboard_browser import (
    SHOTS,
    _login,
    _post_json,
    _seed,
    _shoot,
    _wire,
    browser,
)
from tests.server.alerting import WebhookReceiver
from tests.server.conftest import SURVEY

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the other file


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def alerting_server(tmp_path: Path, webhook: WebhookReceiver) -> Iterator[ServerProcess]:
    """A server whose scheduler checks alerts every second and posts them to the webhook; its
    /metrics count the checks."""
    process = ServerProcess(tmp_path / "server")
    process.env.update(
        SMILETAP_SCHEDULER="true",
        SMILETAP_ALERT_CHECK_INTERVAL_S="1",
        SMILETAP_METRICS="true",
        SMILETAP_ALERT_WEBHOOK_URL=webhook.url,
        SMILETAP_WEBHOOK_ALLOW="127.0.0.1",  # the receiver is on loopback: allowed explicitly
    )
    process.start()
    yield process
    process.stop()


def _unhappy_taps(server: ServerProcess, location_id: str, survey_id: str) -> None:
    code = server.cli_here("create-device", "--location", location_id, "--name", "Exit")["code"]
    token = _post_json(server.url + "/api/v1/enroll", {"code": code})["token"]
    now = _wire(datetime.now(UTC))
    items = [
        {
            "id": str(uuid.uuid4()),
            "survey_id": survey_id,
            "survey_version": 1,
            "location_id": location_id,
            "staff_id": None,
            "language": "en",
            "tapped_at": now,
            "answers": [{"question_id": "q1", "value": 1, "reasons": ["wait"]}],
            "flags": [],
        }
        for _ in range(4)
    ]
    _post_json(server.url + "/api/v1/submissions", {"sent_at": now, "submissions": items}, token)


def _alert_checks(server: ServerProcess) -> int:
    """How many alert checks the server's scheduler has started (its /metrics counter)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(r'^smiletap_job_runs_total\{job="check-alerts"\} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


def test_admin_pages_and_alerts_in_a_browser(
    alerting_server: ServerProcess, browser: Browser, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    server = alerting_server
    ids = _seed(server, tmp_path)
    base = server.url
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    _login(page, base, "admin@example.com")
    cookies = context.cookies()

    # Locations: a bad time zone is refused naming the field; then create one with hours.
    page.goto(base + "/dashboard/admin/locations/")
    _shoot(browser, cookies, page.url, "admin-locations")
    form = page.locator("#new-location")
    form.locator("input[name=name]").fill("Praga")
    form.locator("input[name=timezone]").fill("Europe/Warszawa")
    form.locator("button[type=submit]").click()
    expect(page.locator(".error")).to_contain_text("Time zone")
    form.locator("input[name=timezone]").fill("Europe/Warsaw")
    form.locator("input[name=always_open]").uncheck()
    form.locator("input[name=open_1]").fill("08:00")
    form.locator("input[name=close_1]").fill("20:00")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Praga")
    expect(page.locator("input[name=open_1]")).to_have_value("08:00")
    page.fill("#add-staff input[name=display_name]", "Ola")
    page.click("#add-staff button[type=submit]")
    expect(page.locator("#staff")).to_contain_text("Deactivate")
    _shoot(browser, cookies, page.url, "admin-location-edit")
    page.goto(base + "/dashboard/admin/locations/")
    expect(page.locator("#locations")).to_contain_text("Praga")

    # Survey editor, the form: an empty text is refused naming the field; the preview follows
    # what is typed and switches language; a reason is added; saving makes version 2.
    page.goto(base + "/dashboard/admin/surveys/")
    _shoot(browser, cookies, page.url, "admin-surveys")
    page.locator("#surveys tbody a").first.click()
    expect(page.locator("#version")).to_have_text("version 1")
    expect(page.locator("body")).to_have_attribute("data-editor", "ready")
    survey_url = page.url
    _shoot(browser, cookies, survey_url, "admin-survey-form")
    page.fill("textarea[name=q-0-text-1]", "")
    page.click("#save-survey")
    expect(page.locator("#survey-errors")).to_contain_text("Question 1, text (pl): required")
    expect(page.locator("textarea[name=q-0-text-1]")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SHOTS / "admin-survey-error-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "admin-survey-error-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.fill("textarea[name=q-0-text-1]", "Jak było dzisiaj?")
    page.fill("textarea[name=q-0-text-0]", "How did we do today?")
    english = page.locator("#preview [data-preview-lang=en]")
    polish = page.locator("#preview [data-preview-lang=pl]")
    expect(english.locator(".kiosk-question").first).to_have_text("How did we do today?")
    page.select_option("#preview-language", "pl")
    expect(polish).to_be_visible()
    expect(english).to_be_hidden()
    expect(polish.locator(".kiosk-question").first).to_have_text("Jak było dzisiaj?")
    page.fill("input[name=name]", "Front door")
    page.press("input[name=name]", "Enter")  # Enter refreshes the preview; it never saves
    expect(page.locator("input[name=name]")).to_have_value("Front door")
    expect(page.locator("#version")).to_have_text("version 1")
    page.click("button[value='add-reason:0']")
    expect(page.locator("input[name=q-0-r-2-id]")).to_have_value("r3")
    expect(page.locator("textarea[name=q-0-text-0]")).to_have_value("How did we do today?")
    page.fill("input[name=q-0-r-2-id]", "price")
    page.fill("input[name=q-0-r-2-text-0]", "Prices")
    page.fill("input[name=q-0-r-2-text-1]", "Ceny")
    expect(polish.locator(".chip")).to_have_text(["Czekanie", "Niemiło", "Ceny"])
    page.screenshot(path=str(SHOTS / "admin-survey-adding-desktop.png"), full_page=True)
    page.click("#save-survey")
    expect(page.locator("#version")).to_have_text("version 2")
    expect(page.locator("h1")).to_contain_text("Front door")
    expect(page.locator(".flash")).to_contain_text("Saved as version 2")
    expect(english.locator(".kiosk-question").first).to_have_text("How did we do today?")
    expect(english.locator(".face")).to_have_count(5)
    expect(english.locator(".chip")).to_have_text(["Waiting", "Rude", "Prices"])
    _shoot(browser, cookies, survey_url, "admin-survey-edit")

    # The JSON tab stays for import and export: an error names the JSON path.
    page.click("#json-tab")
    broken = copy.deepcopy(SURVEY)
    broken["questions"][0]["scale"] = 6
    page.fill("textarea[name=definition]", json.dumps(broken, indent=2, ensure_ascii=False))
    page.click("#edit-survey button[type=submit]")
    expect(page.locator("#survey-errors")).to_contain_text("questions[0]: scale 6 is not allowed")
    expect(page.locator("#version")).to_have_text("version 2")
    page.screenshot(path=str(SHOTS / "admin-survey-json-error-desktop.png"), full_page=True)

    # Users and API keys.
    page.goto(base + "/dashboard/admin/users")
    expect(page.locator("#users")).to_contain_text("anna@example.com")
    _shoot(browser, cookies, page.url, "admin-users")
    page.goto(base + "/dashboard/admin/api-keys")
    page.fill("input[name=label]", "BI export")
    page.click("#new-key-form button[type=submit]")  # a manager key needs a location
    expect(page.locator(".error")).to_contain_text("at least one location")
    page.select_option("select[name=role]", "admin")
    page.click("#new-key-form button[type=submit]")
    expect(page.locator("#new-key")).to_contain_text("stk_")
    page.screenshot(path=str(SHOTS / "admin-api-key-created-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "admin-api-key-created-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Alerts: four unhappy taps; the server's scheduler opens a surge episode by itself.
    survey_id = survey_url.rstrip("/").rsplit("/", 1)[1]
    _unhappy_taps(server, ids["a"], survey_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not webhook.bodies:
        time.sleep(0.3)
    assert [b["alert"]["rule"] for b in webhook.bodies] == ["surge"]
    page.goto(base + "/dashboard/alerts/")
    row = page.locator("#alerts tr[data-rule=surge]")
    expect(row).to_contain_text("Surge of unhappy answers")
    expect(row).to_contain_text("open")
    _shoot(browser, cookies, page.url, "alerts")
    # Two more checks start (so the first of them has finished): still one webhook for the
    # one episode.
    checks = _alert_checks(server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alert_checks(server) < checks + 2:
        time.sleep(0.2)
    assert _alert_checks(server) >= checks + 2
    assert len(webhook.bodies) == 1
    context.close()

    # The manager sees the alert of their location, and no admin page.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "anna@example.com")
    page.goto(base + "/dashboard/alerts/")
    expect(page.locator("#alerts tr[data-rule=surge]")).to_have_count(1)
    answer = page.goto(base + "/dashboard/admin/locations/")
    assert answer is not None and answer.status == 403
    _shoot(browser, context.cookies(), base + "/dashboard/alerts/", "alerts-manager")
    context.close()
    # The refused forms answer 400 on purpose; anything else in the console is a fault.
    assert [e for e in errors if "status of 400" not in e] == []
