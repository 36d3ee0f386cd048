"""The dashboard in a real Chromium against a real `smiletap-server run`: numbers, roles, devices,
acknowledging and muting alerts.

Screenshots of every page at desktop and phone widths land in artifacts/dashboard/.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, Page, expect, sync_playwright

from server.db import make_engine
from server.store import alerts as alert_store
from tests.server.conftest import SURVEY

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "dashboard"
PASSWORD = "a long enough secret"
NPS_VALUES = [10, 10, 10, 9, 8, 7, 6, 5, 0, 10]  # NPS 20.0
SMILEY_VALUES = [5, 5, 4, 1, 2]  # 3 of 5 happy: 60.0 %
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _create_user(server: ServerProcess, email: str, role: str, *locations: str) -> None:
    args = ["create-user", "--email", email, "--role", role]
    args += [a for loc in locations for a in ("--location", loc)] + ["--password-stdin"]
    server.cli_here(*args, stdin=PASSWORD + "\n")


def _post_json(url: str, body: object, token: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def _wire(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _seed(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    survey_file = tmp_path / "survey.json"
    survey_file.write_text(json.dumps(SURVEY), encoding="utf-8")
    a = server.cli_here("create-location", "--name", "Centrum", "--timezone", "Europe/Warsaw")["id"]
    b = server.cli_here("create-location", "--name", "Zeta Mall", "--timezone", "Europe/London")[
        "id"
    ]
    survey = server.cli_here("create-survey", "--file", str(survey_file))["id"]
    server.cli_here("assign-survey", "--location", a, "--survey", survey)
    server.cli_here("create-staff", "--location", a, "--name", "Anna")
    code = server.cli_here("create-device", "--location", a, "--name", "Front door")["code"]
    token = _post_json(server.url + "/api/v1/enroll", {"code": code})["token"]
    now = datetime.now(UTC)
    items = []
    for question, values in (("q2", NPS_VALUES), ("q1", SMILEY_VALUES)):
        for i, value in enumerate(values):
            reasons = ["wait"] if question == "q1" and value <= 2 else []
            items.append(
                {
                    "id": str(uuid.uuid4()),
                    "survey_id": survey,
                    "survey_version": 1,
                    "location_id": a,
                    "staff_id": None,
                    "language": "en",
                    "tapped_at": _wire(now - timedelta(days=i % 4)),  # a trend over days
                    "answers": [{"question_id": question, "value": value, "reasons": reasons}],
                    "flags": [],
                }
            )
    batch = {"sent_at": _wire(now), "submissions": items}
    _post_json(server.url + "/api/v1/submissions", batch, token)
    _create_user(server, "admin@example.com", "admin")
    _create_user(server, "anna@example.com", "manager", a)
    return {"a": a, "b": b}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # The suite runs four tests at a time on two cores, where a page can take longer than
    # Playwright's 5 s to load; an expectation returns as soon as it holds, so a longer limit
    # only delays the report of a real failure.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shoot(browser: Browser, cookies: list, url: str, name: str) -> None:  # type: ignore[type-arg]
    """Screenshot a page at desktop and phone widths with the given session."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_cookies(cookies)
        page = context.new_page()
        answer = page.goto(url)
        if "/dashboard/locations/" in url and answer is not None and answer.ok:
            expect(page.locator("body")).to_have_attribute("data-charts", "ready")
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        context.close()


def _login(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Locations")


def test_dashboard_in_a_browser(server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    ids = _seed(server, tmp_path)
    base = server.url
    errors: list[str] = []

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _shoot(browser, [], base + "/login", "login")

    # Admin: both locations, the numbers the seeded answers give.
    _login(page, base, "admin@example.com")
    row = page.locator(f'tr[data-location="{ids["a"]}"]')
    expect(row.locator(".metric-nps strong")).to_have_text("20.0")
    expect(row.locator(".metric-smiley strong")).to_have_text("60.0%")
    expect(row.locator(".n")).to_have_text("10")
    expect(row).to_contain_text("not enough responses")
    expect(page.locator(f'tr[data-location="{ids["b"]}"]')).to_be_visible()
    admin_cookies = context.cookies()
    _shoot(browser, admin_cookies, base + "/dashboard/", "overview")

    page.click(f'tr[data-location="{ids["a"]}"] a')
    expect(page.locator("#total-n")).to_have_text("10")
    expect(page.locator("body")).to_have_attribute("data-charts", "ready")
    expect(page.locator("#reasons")).to_contain_text("Waiting")
    _shoot(browser, admin_cookies, page.url, "location")

    # Devices: create one, see its code and QR, revoke it.
    page.goto(base + "/dashboard/devices/")
    _shoot(browser, admin_cookies, page.url, "devices")
    page.select_option("#new-device select[name=location_id]", ids["b"])
    page.fill("input[name=name]", "Till 7")
    page.click("#new-device button[type=submit]")
    code = page.locator("#enroll-code").inner_text()
    assert re.fullmatch(r"[A-Z]{5}-[A-Z]{5}", code)
    expect(page.locator("#enroll-qr svg")).to_be_visible()
    page.screenshot(path=str(SHOTS / "device-created-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "device-created-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(base + "/dashboard/devices/")
    new_row = page.locator("tr", has_text="Till 7")
    expect(new_row.locator(".state")).to_have_text("not enrolled")
    new_row.locator("a", has_text="Revoke").click()
    expect(page.locator("#confirm-revoke h1")).to_have_text("Revoke “Till 7”?")
    expect(page.locator("#confirm-revoke")).to_contain_text("Zeta Mall")
    _shoot(browser, admin_cookies, page.url, "device-revoke")
    page.locator("#confirm-revoke button", has_text="Revoke Till 7").click()
    expect(page.locator(".flash")).to_contain_text("revoked")
    expect(page.locator("tr", has_text="Till 7").locator(".state")).to_have_text("revoked")
    _shoot(browser, admin_cookies, base + "/account/password", "password")
    context.close()

    # Manager: only location A; B is refused.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "anna@example.com")
    expect(page.locator(f'tr[data-location="{ids["a"]}"] .metric-nps strong')).to_have_text("20.0")
    expect(page.locator(f'tr[data-location="{ids["b"]}"]')).to_have_count(0)
    answer = page.goto(f"{base}/dashboard/locations/{ids['b']}")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("403")
    manager_cookies = context.cookies()
    _shoot(browser, manager_cookies, f"{base}/dashboard/locations/{ids['b']}", "forbidden")
    _shoot(browser, manager_cookies, base + "/dashboard/", "overview-manager")
    context.close()
    assert errors == []


def _open_alert(server: ServerProcess, location_id: str) -> int:
    """An open surge episode at the location, as the alert check would record it."""
    engine = make_engine(f"sqlite:///{server.instance_dir / 'smiletap.db'}")
    try:
        with engine.begin() as conn:
            message = "4 of 4 answers (100 %) unhappy in the last 15 min"
            return alert_store.open_episode(conn, location_id, "surge", "", "warning", message)
    finally:
        engine.dispose()


def test_alerts_acknowledge_and_mute_in_a_browser(
    server: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    ids = _seed(server, tmp_path)
    alert_id = _open_alert(server, ids["a"])
    base = server.url
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "anna@example.com")  # a manager of location A
    page.goto(base + "/dashboard/alerts/")
    row = page.locator(f'tr[data-alert="{alert_id}"]')
    expect(row).to_contain_text("Surge of unhappy answers")

    row.locator("form.acknowledge button").click()
    expect(page.locator(".flash")).to_contain_text("Alert acknowledged.")
    expect(row.locator(".acknowledged")).to_contain_text("Acknowledged by anna@example.com")
    expect(row.locator("form.acknowledge")).to_have_count(0)

    row.locator("form.mute-rule select[name=duration]").select_option("1d")
    row.locator("form.mute-rule button").click()
    expect(page.locator(".flash")).to_contain_text("muted for 1 day")
    mute = page.locator("#mutes tr.mute-active")
    expect(mute).to_have_count(1)
    expect(mute).to_contain_text("Surge of unhappy answers")
    expect(mute).to_contain_text("by anna@example.com")
    expect(row.locator(".muted-until")).to_contain_text("Muted until")
    expect(row.locator("form.mute-rule")).to_have_count(0)
    # The location select offers only the manager's own location.
    expect(page.locator("#new-mute select[name=location_id] option")).to_have_count(1)
    _shoot(browser, context.cookies(), base + "/dashboard/alerts/", "alerts")

    mute.locator("form.lift-mute button").click()
    expect(page.locator(".flash")).to_contain_text("Mute lifted.")
    expect(page.locator("#mutes tr.mute-ended")).to_contain_text("lifted by anna@example.com")
    context.close()
    assert errors == []


def test_touchpoints_in_a_browser(server: ServerProcess, browser: Browser, tmp_path: Path) -> None:
    """The location page compares its touchpoints and narrows to one; the overview compares
    checkouts chain-wide; the admin and devices pages manage them. Screenshots of each."""
    survey_file = tmp_path / "survey.json"
    survey_file.write_text(json.dumps(SURVEY), encoding="utf-8")
    a = server.cli_here("create-location", "--name", "Centrum", "--timezone", "Europe/Warsaw")["id"]
    survey = server.cli_here("create-survey", "--file", str(survey_file))["id"]
    server.cli_here("assign-survey", "--location", a, "--survey", survey)
    door = server.cli_here("create-touchpoint", "--location", a, "--name", "Entrance", "--kind",
                      "entrance")["id"]  # fmt: skip
    tills = server.cli_here("create-touchpoint", "--location", a, "--name", "Checkout", "--kind",
                       "checkout")["id"]  # fmt: skip
    code = server.cli_here("create-device", "--location", a, "--name", "Door kiosk", "--touchpoint",
                      door)["code"]  # fmt: skip
    server.cli_here("create-device", "--location", a, "--name", "Till kiosk", "--touchpoint", tills)
    token = _post_json(server.url + "/api/v1/enroll", {"code": code})["token"]
    now = datetime.now(UTC)
    items = []
    for i in range(44):
        at_door = i < 36  # 36 at the door (ranked), 8 at the tills (not enough)
        items.append(
            {
                "id": str(uuid.uuid4()),
                "survey_id": survey,
                "survey_version": 1,
                "location_id": a,
                "touchpoint_id": door if at_door else tills,
                "language": "en",
                "tapped_at": _wire(now - timedelta(days=i % 5)),
                "answers": [{"question_id": "q1", "value": 5 - (i % 3 if at_door else 3)}],
            }
        )
    _post_json(server.url + "/api/v1/submissions", {"sent_at": _wire(now), "submissions": items},
               token)  # fmt: skip
    _create_user(server, "admin@example.com", "admin")
    base = server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, base, "admin@example.com")
    cookies = context.cookies()

    page.goto(f"{base}/dashboard/locations/{a}")
    table = page.locator("#touchpoints")
    expect(table.locator("tr", has_text="Entrance")).to_contain_text("36")
    expect(table.locator("tr", has_text="Checkout")).to_contain_text("not enough responses")
    _shoot(browser, cookies, page.url, "touchpoints-location")
    page.select_option("#touchpoint-picker", tills)  # applies at once, like the period
    expect(page.locator("#total-n")).to_have_text("8")
    expect(page.locator("#narrowed")).to_contain_text("Checkout")
    _shoot(browser, cookies, page.url, "touchpoints-location-narrowed")

    page.goto(f"{base}/dashboard/?kind=checkout")
    expect(page.locator("h1")).to_contain_text("Checkouts, chain-wide")
    expect(page.locator("#chain-n")).to_have_text("8")
    _shoot(browser, cookies, page.url, "touchpoints-overview-checkouts")
    _shoot(browser, cookies, f"{base}/dashboard/admin/locations/{a}", "touchpoints-admin")
    page.goto(f"{base}/dashboard/devices/")
    expect(page.locator("tr", has_text="Till kiosk")).to_contain_text("at Checkout")
    _shoot(browser, cookies, page.url, "touchpoints-devices")
    context.close()
