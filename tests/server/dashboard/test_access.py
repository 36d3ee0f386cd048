"""Every dashboard route × role × own or foreign location: 403 for each forbidden cell."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from server.db import get_db
from server.store import alerts, users
from shared.clock import utcnow
from tests.server.conftest import SURVEY
from tests.server.dashboard.conftest import Chain, post

# (method, path template, who may use it): "any" signed-in user, "scoped" for a location the
# user may see, "admin" only. {loc} and {dev} are filled with the own or the foreign target.
ROUTES = [
    ("GET", "/dashboard/", "any"),
    ("GET", "/dashboard/?period=7&sort=nps&dir=desc", "any"),
    ("GET", "/dashboard/locations/{loc}", "scoped"),
    ("GET", "/dashboard/locations/{loc}?from=2020-01-01&to=2030-12-31", "scoped"),
    ("GET", "/dashboard/locations/{loc}/chart.json", "scoped"),
    ("GET", "/dashboard/locations/{loc}/responses.csv", "scoped"),
    ("GET", "/dashboard/devices/", "any"),
    ("POST", "/dashboard/devices/", "admin"),
    ("POST", "/dashboard/devices/{dev}/move", "admin"),
    ("POST", "/dashboard/devices/{dev}/revoke", "admin"),
    ("GET", "/account/password", "any"),
    ("GET", "/dashboard/alerts/", "any"),
    ("POST", "/dashboard/alerts/{alr}/acknowledge", "scoped"),
    ("POST", "/dashboard/alerts/mutes", "scoped"),  # the location is the form's location_id
    ("POST", "/dashboard/alerts/mutes/{mut}/lift", "scoped"),
    ("GET", "/dashboard/admin/locations/", "admin"),
    ("POST", "/dashboard/admin/locations/", "admin"),
    ("GET", "/dashboard/admin/locations/{loc}", "admin"),
    ("POST", "/dashboard/admin/locations/{loc}", "admin"),
    ("POST", "/dashboard/admin/locations/{loc}/survey", "admin"),
    ("POST", "/dashboard/admin/locations/{loc}/staff", "admin"),
    ("POST", "/dashboard/admin/locations/{loc}/staff/{stf}/rename", "admin"),
    ("POST", "/dashboard/admin/locations/{loc}/staff/{stf}/active", "admin"),
    ("GET", "/dashboard/admin/surveys/", "admin"),
    ("POST", "/dashboard/admin/surveys/", "admin"),
    ("GET", "/dashboard/admin/surveys/new", "admin"),
    ("GET", "/dashboard/admin/surveys/{srv}", "admin"),
    ("POST", "/dashboard/admin/surveys/{srv}", "admin"),
    ("GET", "/dashboard/admin/surveys/{srv}/json", "admin"),
    ("GET", "/dashboard/admin/surveys/{srv}/survey.json", "admin"),
    ("GET", "/dashboard/admin/users", "admin"),
    ("POST", "/dashboard/admin/users", "admin"),
    ("POST", "/dashboard/admin/users/{usr}/active", "admin"),
    ("GET", "/dashboard/admin/api-keys", "admin"),
    ("POST", "/dashboard/admin/api-keys", "admin"),
    ("POST", "/dashboard/admin/api-keys/{key}/revoke", "admin"),
]

# A form body that every POST above accepts (keys a route does not read are ignored); the
# admin's answers may be 400 for a field that does not fit that route, never a 5xx.
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
}


def _expected(role: str, rule: str, own: bool) -> set[int]:
    if rule == "any" or role == "admin":
        return {200, 302, 400}
    if rule == "scoped":
        return {200, 302} if own else {403}  # 302: a form's redirect back
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
    return {"alr": str(alert_id), "mut": str(mute_id)}


def _call(chain: Chain, client: Any, method: str, template: str, own: bool) -> int:
    loc = chain.a if own else chain.b
    dev = chain.kiosk.device_id if own else chain.device_b
    targets = chain.admin_targets(own)
    if "{alr}" in template or "{mut}" in template:
        targets = {**targets, **_alert_targets(chain, loc)}
    path = template.format(loc=loc, dev=dev, **targets)
    if method == "GET":
        return int(client.get(path).status_code)
    form = {**FORM, "location_id": loc, "survey_id": chain.kiosk.survey_id}
    return int(post(client, path, form).status_code)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_every_route_role_and_location(chain: Chain, role: str) -> None:
    wrong = []
    client = chain.client(role)  # one sign-in: argon2 is slow on purpose
    for own in (True, False):
        for method, template, rule in ROUTES:
            status = _call(chain, client, method, template, own)
            expected = _expected(role, rule, own)
            if status not in expected:
                where = "own" if own else "foreign"
                wrong.append(f"{role} {method} {template} ({where}): {status}, want {expected}")
    assert wrong == []


@pytest.mark.parametrize(
    "path",
    [
        t.format(loc="loc_x", dev="dev_x", stf="s", srv="s", usr="u", key="k", alr="1", mut="1")
        for m, t, _ in ROUTES
        if m == "GET"
    ],
)
def test_signed_out_is_sent_to_login(chain: Chain, path: str) -> None:
    response = chain.client(None).get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


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
