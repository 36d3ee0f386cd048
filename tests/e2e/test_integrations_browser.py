"""Integrations in a real Chromium against a real `smiletap-server run` whose scheduler runs
the alert check: add a signed webhook (its secret shown once), send a test message to a real
receiver on loopback that checks the signature, add a Slack destination for one location, and
see a surge alert reach both and their delivery logs.

Screenshots at desktop and phone widths land in artifacts/dashboard/integrations-*.png.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, expect

from tests.e2e.test_dashboard_admin_browser import _unhappy_taps
from tests.e2e.test_dashboard_browser import SHOTS, _create_user, _login, _shoot, browser
from tests.server.alerting import WebhookReceiver
from tests.server.conftest import SURVEY

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the other files


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    made = (WebhookReceiver(), WebhookReceiver())
    yield made
    for receiver in made:
        receiver.stop()


@pytest.fixture
def alerting_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose scheduler checks alerts every 2 s; loopback receivers allowed."""
    process = ServerProcess(tmp_path / "server")
    process.env.update(
        SMILETAP_SCHEDULER="true",
        SMILETAP_ALERT_CHECK_INTERVAL_S="2",
        SMILETAP_WEBHOOK_ALLOW="127.0.0.1",
        SMILETAP_PUBLIC_URL="https://smiletap.example.com",
    )
    process.start()
    yield process
    process.stop()


def _wait_for(received: list[dict[str, object]], count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(received) < count:
        time.sleep(0.2)
    assert len(received) >= count, received


def test_integrations_in_a_browser(
    alerting_server: ServerProcess,
    browser: Browser,
    receivers: tuple[WebhookReceiver, WebhookReceiver],
    tmp_path: Path,
) -> None:
    server, (signed, slack) = alerting_server, receivers
    survey_file = tmp_path / "survey.json"
    survey_file.write_text(json.dumps(SURVEY), encoding="utf-8")
    cli = server.cli_here  # in this process: a cold CLI process costs a second or more
    a = cli("create-location", "--name", "Centrum", "--timezone", "Europe/Warsaw")["id"]
    cli("create-location", "--name", "Zeta Mall", "--timezone", "Europe/London")
    survey = cli("create-survey", "--file", str(survey_file))["id"]
    cli("assign-survey", "--location", a, "--survey", survey)
    _create_user(server, "admin@example.com", "admin")
    base = server.url
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "admin@example.com")
    cookies = context.cookies()

    page.click("header.top nav >> text=Integrations")
    expect(page.locator("h1")).to_have_text("Integrations")
    expect(page.locator("#destinations")).to_contain_text("No destinations yet")
    form = page.locator("#new-destination")
    form.locator("input[name=name]").fill("Head office")
    form.locator("select[name=kind]").select_option("webhook")
    form.locator("input[name=url]").fill("http://hooks.example.com/in")  # http, not allowed
    form.locator("button[type=submit]").click()
    expect(page.locator(".error")).to_contain_text("URL: must start with https://")
    expect(page.locator("input[name=url]")).to_have_attribute("aria-invalid", "true")
    errors.clear()  # the browser logs that 400 answer: it was meant
    page.locator("#new-destination input[name=url]").fill(signed.url)  # loopback: allowed
    page.locator("#new-destination button[type=submit]").click()
    secret = page.locator("#signing-secret").inner_text()
    assert secret.startswith("whsec_") and len(secret) == 70
    page.screenshot(path=str(SHOTS / "integrations-secret-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(SHOTS / "integrations-secret-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    signed.secret = secret  # from now on it refuses (401) whatever is not signed with it
    page.click("#send-test")
    expect(page.locator(".flash")).to_contain_text("Test message delivered (HTTP 204)")
    expect(page.locator("#delivery-log")).to_contain_text("test message")
    expect(page.locator("#signing-secret")).to_have_count(0)  # shown once, never again
    assert signed.refused == [] and signed.bodies[0]["test"]["destination_name"] == "Head office"
    signed_page = page.url

    page.goto(base + "/dashboard/admin/integrations/")
    form = page.locator("#new-destination")
    form.locator("input[name=name]").fill("#centrum (Slack)")
    form.locator("select[name=kind]").select_option("slack")
    form.locator("input[name=url]").fill(slack.url)
    form.locator("input[name=scope][value=chosen]").check()
    form.locator("label.check", has_text="Centrum").locator("input").check()
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("#centrum (Slack) added")
    slack_page = page.url

    # Four unhappy taps: the server's scheduler opens a surge and posts it to both.
    _unhappy_taps(server, a, survey)
    _wait_for(signed.bodies, 2)
    _wait_for(slack.bodies, 1)
    assert signed.refused == [] and signed.bodies[1]["alert"]["rule"] == "surge"
    assert "Surge of unhappy answers" in json.dumps(slack.bodies[0]["blocks"])
    page.goto(slack_page)
    expect(page.locator("#delivery-log")).to_contain_text("Centrum")
    expect(page.locator("#delivery-log")).to_contain_text("204")
    _shoot(browser, cookies, signed_page, "integrations-destination")
    _shoot(browser, cookies, slack_page, "integrations-slack")
    _shoot(browser, cookies, base + "/dashboard/admin/integrations/", "integrations")
    assert errors == []
