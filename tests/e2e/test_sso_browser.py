"""Single sign-on in a real Chromium against a real OpenID provider (npm `oidc-provider`) and a
real `smiletap-server run`: a known user lands on the dashboard, another domain and an unknown
user are refused with a page that says why, signing out ends both sessions.

Screenshots of the sign-in page (with the "Sign in with" button) and of the two-step set-up
page at 1280 and 360 px land in artifacts/dashboard/; at 360 px two-step sign-in is also
turned on and used once (its recovery codes and code pages shot too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from harness import ServerProcess
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.oidc_provider import OidcProvider

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "dashboard"
PASSWORD = "a long enough secret"
SIZES = {"desktop": (1280, 800), "phone": (360, 740)}


@pytest.fixture
def sso_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, OidcProvider]]:
    server = ServerProcess(tmp_path / "server")
    provider = OidcProvider(
        f"{server.url}/login/sso/callback", f"{server.url}/login", tmp_path / "provider.log"
    ).start()
    try:
        server.env.update(
            {
                "SMILETAP_OIDC_ISSUER": provider.issuer,
                "SMILETAP_OIDC_CLIENT_ID": provider.client_id,
                "SMILETAP_OIDC_CLIENT_SECRET": provider.client_secret,
                "SMILETAP_OIDC_NAME": "Acme",
                "SMILETAP_OIDC_ALLOWED_DOMAINS": "example.com",
            }
        )
        server.start()
        location = server.cli_here("create-location", "--name", "Acme Mall", "--timezone", "UTC")
        for email, role, extra in (
            ("anna@example.com", "manager", ["--location", location["id"]]),
            ("it@example.com", "admin", []),
        ):
            args = ["create-user", "--email", email, "--role", role, *extra, "--password-stdin"]
            server.cli_here(*args, stdin=PASSWORD + "\n")
        yield server, provider
    finally:
        server.stop()
        provider.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    # The suite runs four tests at a time on two cores, where a page can take longer than
    # Playwright's 5 s to load; an expectation returns as soon as it holds, so a longer limit
    # only delays the report of a real failure.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        yield chromium
        chromium.close()


def _two_step_round(page: Page, base: str, size: str) -> None:
    """Turn two-step on with the app's code (pyotp), see the recovery codes, sign out, and
    sign in again with the password and then the next code."""
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    confirmed = totp.timecode(datetime.now(UTC))
    page.fill("input[name=code]", totp.generate_otp(confirmed))
    page.click("main form button[type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.screenshot(path=str(SHOTS / f"two-step-codes-{size}.png"), full_page=True)
    page.goto(base + "/account/two-step/")
    page.click("label.menu-button")
    page.click("text=Sign out")
    page.wait_for_url(base + "/login")
    page.fill("input[name=email]", "it@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/login/code")
    page.screenshot(path=str(SHOTS / f"login-code-{size}.png"), full_page=True)
    page.fill("input[name=code]", totp.generate_otp(confirmed + 1))
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/dashboard/")
    expect(page.locator(".who")).to_contain_text("it@example.com")


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 when it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def _watch(page: Page, ours: str, errors: list[str]) -> None:
    """Collect console errors of Smiletap's pages (the provider's pages load web fonts that
    this offline machine cannot reach; a refusal's 403 is the point)."""

    def seen(message: ConsoleMessage) -> None:
        refusal = "/login/sso/callback" in page.url and "status of 403" in message.text
        if message.type == "error" and page.url.startswith(ours) and not refusal:
            errors.append(f"{page.url}: {message.text}")

    page.on("console", seen)


def _provider_sign_in(page: Page, provider: OidcProvider, login: str) -> None:
    """The provider's own pages: its sign-in form, then its consent."""
    page.wait_for_url(f"{provider.issuer}/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything: the test provider takes any")
    page.click("button[type=submit]")
    expect(page.locator("button[type=submit]")).to_have_text("Continue")
    page.click("button[type=submit]")


def test_sign_in_refusals_and_sign_out(
    sso_server: tuple[ServerProcess, OidcProvider], browser: Browser
) -> None:
    server, provider = sso_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _watch(page, server.url, errors)
        page.goto(server.url + "/login")
        expect(page.locator("#sso-sign-in")).to_have_text("Sign in with Acme")
        page.screenshot(path=str(SHOTS / f"login-sso-{size}.png"), full_page=True)
        assert _overflow(page) == 0, f"the sign-in page is wider than {width} px"
        page.fill("input[name=email]", "it@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(server.url + "/account/two-step/")
        expect(page.locator("#totp-qr svg")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"two-step-enrol-{size}.png"), full_page=True)
        assert _overflow(page) == 0, f"the two-step page is wider than {width} px"
        if size == "phone":
            _two_step_round(page, server.url, size)
        context.close()

    # A known user of an allowed domain: the provider's sign-in, then the page asked for.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _watch(page, server.url, errors)
    page.goto(server.url + "/dashboard/alerts/")
    page.click("#sso-sign-in")
    _provider_sign_in(page, provider, "anna@example.com")
    page.wait_for_url(server.url + "/dashboard/alerts/")
    expect(page.locator(".who")).to_contain_text("anna@example.com · manager")
    page.goto(server.url + "/dashboard/")
    expect(page.locator("body")).to_contain_text("Acme Mall")  # her location, from Smiletap

    # Signing out ends Smiletap's session and, through its end_session_endpoint, the
    # provider's: it asks to confirm, then sends the browser back to the sign-in page.
    page.click("text=Sign out")
    page.wait_for_url(f"{provider.issuer}/**")
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/login")
    page.goto(server.url + "/dashboard/")
    assert page.url.startswith(server.url + "/login")
    # The provider's session ended too: single sign-on asks for the login again.
    page.click("#sso-sign-in")
    page.wait_for_url(f"{provider.issuer}/**")
    expect(page.locator("input[name=login]")).to_be_visible()
    context.close()

    refusals = {
        "eve@elsewhere.test": "Accounts of elsewhere.test may not sign in here.",
        "nobody@example.com": "nobody@example.com has no Smiletap account.",
        "unverified@example.com": "has not verified the e-mail address",
    }
    for login, reason in refusals.items():
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        _watch(page, server.url, errors)
        page.goto(server.url + "/login")
        page.click("#sso-sign-in")
        _provider_sign_in(page, provider, login)
        page.wait_for_url(server.url + "/login/sso/callback**")
        expect(page.locator("#sso-refused")).to_contain_text(reason)
        if login.startswith("eve"):
            page.screenshot(path=str(SHOTS / "sso-refused-phone.png"), full_page=True)
            assert _overflow(page) == 0
        page.goto(server.url + "/dashboard/")
        assert page.url.startswith(server.url + "/login")  # nobody signed in
        context.close()
    assert errors == []
