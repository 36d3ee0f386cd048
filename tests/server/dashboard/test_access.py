"""Every route of the URL map × role × own or foreign location, and CSRF on every form."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import Rule

from server.db import get_db
from server.store import alerts, users
from shared.clock import utcnow
from tests.server.conftest import SURVEY
from tests.server.dashboard.conftest import Chain, csrf_token, store_said

# Who may use each endpoint of the app's URL map. The walk below is generated from the URL
# map itself: a route missing here fails `test_every_route_is_classified`, and once it is
# classified it is walked with every role and an own and a foreign target.
#   public: anyone;  any: any signed-in user;  scoped: a user who may see the location;
#   admin: admins only;  device / api_key: a bearer token, never a dashboard session.
ACCESS = {
    "static": "public",
    "account.login": "public",
    "account.login_code": "public",  # without a password just given: back to the sign-in
    "sso.start": "public",  # 404 unless single sign-on is set up; then off to the provider
    "sso.callback": "public",  # checks the provider's answer; refuses an unstarted sign-in
    "openapi.openapi": "public",
    "health.healthz": "public",
    "health.readyz": "public",
    "metrics.metrics": "public",  # 404 unless SMILETAP_METRICS and an allowed client address
    "device.enroll": "public",
    "device.config": "device",
    "device.heartbeat": "device",
    "device.submit": "device",
    "reports.scores": "api_key",
    "reports.responses_csv": "api_key",
    "reports.kpis": "api_key",
    "reports.link_report": "api_key",
    "kpis.put_kpis": "api_key",
    "home": "public",  # a redirect to the overview, which asks for a sign-in
    "account.logout": "any",
    "account.change_password": "any",
    "two_step.index": "any",
    "two_step.confirm": "any",
    "two_step.disable": "any",
    "digest.edit": "any",
    "digest.save": "any",
    "digest.preview": "any",
    "digest.chart": "any",
    "digest.send_now": "any",  # one's own digest; no mail server in the walk: a flash
    "overview.chain": "any",
    "devices.index": "any",
    "alerts.index": "any",
    "kpi_upload.form": "any",  # a manager uploads for their own locations only
    "kpi_upload.preview": "any",
    "kpi_upload.import_file": "any",
    "location.page": "scoped",
    "location.chart_data": "scoped",
    "location.export": "scoped",
    "location.business_data": "scoped",
    "business.chain": "any",  # ranks only the locations the user may see
    "alerts.acknowledge": "scoped",
    "alerts.mute": "scoped",  # the location is the form's location_id
    "alerts.lift": "scoped",
    "alerts.close": "scoped",
    "followups.index": "scoped",
    "followups.handle": "scoped",  # the location is the submission's
    "followups.assign": "scoped",
    "devices.create": "admin",
    "devices.move": "admin",
    "devices.place": "admin",
    "devices.confirm_revoke": "admin",
    "devices.revoke": "admin",
    "admin_locations.index": "admin",
    "admin_locations.create": "admin",
    "admin_locations.edit": "admin",
    "admin_locations.save": "admin",
    "admin_locations.assign": "admin",
    "admin_locations.add_staff": "admin",
    "admin_locations.rename_staff": "admin",
    "admin_locations.set_staff_active": "admin",
    "admin_locations.add_touchpoint": "admin",
    "admin_locations.save_touchpoint": "admin",
    "admin_locations.set_touchpoint_archived": "admin",
    "admin_surveys.index": "admin",
    "admin_surveys.new": "admin",
    "admin_surveys.create": "admin",
    "admin_surveys.edit": "admin",
    "admin_surveys.save": "admin",
    "admin_surveys.edit_json": "admin",
    "admin_surveys.export": "admin",
    "admin_people.user_list": "admin",
    "admin_people.create_user": "admin",
    "admin_people.set_user_active": "admin",
    "admin_people.key_list": "admin",
    "admin_people.create_key": "admin",
    "admin_people.revoke_key": "admin",
    "admin_destinations.index": "admin",
    "admin_destinations.create": "admin",
    "admin_destinations.detail": "admin",
    "admin_destinations.send_test": "admin",  # its target is refused by the SSRF guard
    "admin_destinations.set_enabled": "admin",
    "admin_destinations.delete": "admin",
}

# A form body that every POST accepts (keys a route does not read are ignored); the admin's
# answers may be 400 for a field that does not fit that route, never a 5xx.
FORM = {
    "name": "New till",
    "timezone": "Europe/Warsaw",
    "display_name": "Ola",
    "definition": json.dumps(SURVEY),
    "role": "manager",
    "email": "new@example.com",
    "password": "a long enough secret",
    "label": "BI",
    "duration": "1h",
    "note": "Called the customer back.",
}
#: The blueprints that authenticate with bearer tokens: no CSRF, no session.
API_BLUEPRINTS = ("device", "reports", "kpis", "openapi")


@dataclass(frozen=True)
class Route:
    """One method of one URL rule, and who may use it."""

    method: str
    rule: Rule
    access: str


def routes(app: Flask) -> list[Route]:
    """Every method of every rule in the URL map; deletions after the routes of what they
    delete, and logout last: it ends the walk's session."""
    found = [
        Route(method, rule, ACCESS.get(rule.endpoint, "unclassified"))
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    return sorted(
        found,
        key=lambda r: (
            r.rule.endpoint == "account.logout",
            r.rule.endpoint.endswith(".delete"),
            r.rule.rule,
        ),
    )


def test_every_route_is_classified(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ACCESS) == set(), "new route: say in ACCESS who may use it"
    assert set(ACCESS) - endpoints == set(), "ACCESS names a route that is gone"


def _expected(access: str, role: str | None, own: bool) -> set[int]:
    if access == "public":
        return set(range(200, 500)) - {403}  # whatever it says, never a 5xx or a 403
    if access in ("device", "api_key"):
        return {401}  # a dashboard session never opens the APIs
    if role is None:
        return {302}  # to the sign-in page
    if role == "admin":
        return {200, 302, 400}
    if access == "any":
        return {200, 302, 400}
    if access == "scoped" and own:
        return {200, 302}  # 302: a form's redirect back
    return {403}


def _alert_targets(chain: Chain, location_id: str) -> dict[str, str]:
    """An open alert and a mute in force at this location, for the alert routes."""
    with chain.app.app_context():
        conn = get_db()
        with conn.begin():
            found = users.credentials(conn, "admin@example.com")
            assert found is not None
            alert_id = alerts.open_episode(conn, location_id, "surge", "", "warning", "4 of 4")
            until = utcnow() + timedelta(hours=1)
            mute_id = alerts.mute(conn, location_id, None, until, found[0].id)
    return {"alert_id": str(alert_id), "mute_id": str(mute_id)}


def _values(chain: Chain, rule: Rule, own: bool) -> dict[str, str]:
    """The rule's arguments filled with real ids at the own (A) or the foreign (B) location."""
    targets = chain.admin_targets(own)
    values = {
        "location_id": chain.a if own else chain.b,
        "device_id": chain.kiosk.device_id if own else chain.device_b,
        "staff_id": targets["stf"],
        "survey_id": targets["srv"],
        "user_id": targets["usr"],
        "key_id": targets["key"],
        "touchpoint_id": targets["tp"],
        "destination_id": targets["dst"],
        "filename": "dashboard.css",
    }
    if rule.arguments & {"alert_id", "mute_id"}:
        values.update(_alert_targets(chain, values["location_id"]))
    if "submission_id" in rule.arguments:
        device = chain.kiosk.device_id if own else chain.device_b
        said = store_said(chain.app, values["location_id"], device, "Nobody at the till")
        values["submission_id"] = said
    missing = rule.arguments - set(values)
    assert not missing, f"{rule.rule}: give the walk a value for {missing}"
    return {name: values[name] for name in rule.arguments}


def _call(chain: Chain, client: Any, token: str, route: Route, own: bool) -> Any:
    with chain.app.test_request_context():
        path = url_for(route.rule.endpoint, **_values(chain, route.rule, own))
    if route.method == "GET":
        return client.get(path)
    loc = chain.a if own else chain.b
    form = {**FORM, "location_id": loc, "survey_id": chain.kiosk.survey_id, "csrf_token": token}
    form["assignee_id"] = chain.admin_targets(own)["usr"]  # a manager of that location
    if route.rule.endpoint.split(".")[0] in API_BLUEPRINTS:
        return client.open(path, method=route.method, json={})
    return client.post(path, data=form)


@pytest.mark.parametrize("role", ["admin", "manager", None])
def test_every_route_role_and_location(chain: Chain, role: str | None) -> None:
    wrong = []
    for own in (True, False):
        client = chain.client(role)
        token = csrf_token(client, "/login")
        for route in routes(chain.app):
            answer = _call(chain, client, token, route, own)
            answer.close()  # a static file is streamed: let go of it
            expected = _expected(route.access, role, own)
            where = "own" if own else "foreign"
            cell = f"{role} {route.method} {route.rule.rule} ({where})"
            if answer.status_code not in expected:
                wrong.append(f"{cell}: {answer.status_code}, want {expected}")
            elif role is None and route.access != "public" and answer.status_code == 302:
                where_to = answer.headers["Location"]
                wrong += [] if where_to.startswith("/login") else [f"{cell}: sent to {where_to}"]
    assert wrong == []


@pytest.mark.parametrize("forged", [None, "forged"])
def test_every_dashboard_post_refuses_a_missing_or_forged_csrf_token(
    chain: Chain, forged: str | None
) -> None:
    client = chain.client("admin")
    accepted = []
    for route in routes(chain.app):
        if route.method != "POST" or route.rule.endpoint.split(".")[0] in API_BLUEPRINTS:
            continue
        with chain.app.test_request_context():
            path = url_for(route.rule.endpoint, **_values(chain, route.rule, own=True))
        form = {**FORM, "location_id": chain.a, "survey_id": chain.kiosk.survey_id}
        if forged:
            form["csrf_token"] = forged
        answer = client.post(path, data=form)
        if answer.status_code != 400 or "form expired" not in answer.get_data(as_text=True):
            accepted.append(f"POST {route.rule.rule}: {answer.status_code}")
    assert accepted == []
    assert client.get("/dashboard/").status_code == 200  # still signed in: nothing was done


def test_manager_sees_only_their_locations_and_devices(chain: Chain) -> None:
    client = chain.client("manager")
    overview = client.get("/dashboard/").get_data(as_text=True)
    assert chain.a in overview and chain.b not in overview
    devices = client.get("/dashboard/devices/").get_data(as_text=True)
    assert chain.kiosk.device_id in devices and chain.device_b not in devices
    assert "Revoke" not in devices and "Add a device" not in devices


def test_manager_gets_403_for_an_unknown_location_admin_404(chain: Chain) -> None:
    assert chain.client("manager").get("/dashboard/locations/loc_nope").status_code == 403
    assert chain.client("admin").get("/dashboard/locations/loc_nope").status_code == 404
