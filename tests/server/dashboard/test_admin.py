"""Admin pages: locations, opening hours, staff, the survey editor, assignment, users, API keys."""

from __future__ import annotations

import copy
import json
import re

import pytest

from server.store import locations
from tests.server.conftest import SURVEY
from tests.server.dashboard.conftest import Chain, post

LOCATIONS = "/dashboard/admin/locations/"


def _location_row(chain: Chain, location_id: str) -> dict:  # type: ignore[type-arg]
    with chain.app.app_context():
        from server.db import get_db

        conn = get_db()
        with conn.begin():
            found = locations.get(conn, location_id)
    assert found is not None
    return found


def test_create_location_validates_time_zone_and_stores_hours(chain: Chain) -> None:
    admin = chain.client("admin")
    bad = post(admin, LOCATIONS, {"name": "Mokotów", "timezone": "Mars/Olympus"}, LOCATIONS)
    assert bad.status_code == 400
    assert "Time zone: &#39;Mars/Olympus&#39; is not an IANA time zone" in bad.get_data(True)
    form = {"name": "Mokotów", "timezone": "Europe/Warsaw", "open_1": "08:00", "close_1": "20:00"}
    made = post(admin, LOCATIONS, form, LOCATIONS)
    assert made.status_code == 302
    location_id = made.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    row = _location_row(chain, location_id)
    assert row["name"] == "Mokotów" and row["timezone"] == "Europe/Warsaw"
    assert json.loads(row["opening_hours"]) == {"1": ["08:00", "20:00"]}
    assert "Mokotów" in admin.get(LOCATIONS).get_data(True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"open_2": "25:00", "close_2": "18:00"}, "Tuesday: give both times as HH:MM"),
        ({"open_3": "09:00"}, "Wednesday: give both times"),
        ({"open_4": "09:00", "close_4": "09:00"}, "Thursday: opens and closes at once"),
        ({"webhook_url": "ftp://x"}, "Webhook URL: must start with https://"),
        ({"name": " "}, "Name: must not be empty"),
    ],
)
def test_edit_location_refuses_bad_fields(chain: Chain, fields: dict, message: str) -> None:  # type: ignore[type-arg]
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    answer = post(admin, page, {"name": "Centrum", "timezone": "Europe/Warsaw", **fields}, page)
    assert answer.status_code == 400
    assert message in answer.get_data(True)


def test_edit_location_saves_name_zone_hours_and_webhook(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    form = {
        "name": "Centrum 2",
        "timezone": "Europe/London",
        "open_6": "10:00",
        "close_6": "02:00",
        "webhook_url": "https://hooks.example.com/x",
    }
    assert post(admin, page, form, page).status_code == 302
    row = _location_row(chain, chain.a)
    assert (row["name"], row["timezone"]) == ("Centrum 2", "Europe/London")
    assert json.loads(row["opening_hours"]) == {"6": ["10:00", "02:00"]}
    assert row["webhook_url"] == "https://hooks.example.com/x"
    assert post(admin, page, {**form, "always_open": "1"}, page).status_code == 302
    assert _location_row(chain, chain.a)["opening_hours"] is None


def test_staff_roster_add_rename_deactivate_keeps_history(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    assert post(admin, f"{page}/staff", {"display_name": "Ola"}, page).status_code == 302
    staff = chain.kiosk.get("/api/v1/config").get_json()["staff"]
    assert [s["display_name"] for s in staff] == ["Ola"]
    staff_id = staff[0]["id"]
    chain.kiosk.submit([chain.kiosk.item(5, staff_id=staff_id)])
    rename = f"{page}/staff/{staff_id}/rename"
    assert post(admin, rename, {"display_name": "Aleksandra"}, page).status_code == 302
    assert chain.kiosk.get("/api/v1/config").get_json()["staff"][0]["display_name"] == "Aleksandra"
    active = f"{page}/staff/{staff_id}/active"
    assert post(admin, active, {"active": "0"}, page).status_code == 302
    assert chain.kiosk.get("/api/v1/config").get_json()["staff"] == []
    edit_page = admin.get(page).get_data(True)
    assert "Aleksandra" in edit_page and "Reactivate" in edit_page
    # History stays: the answer under that staff member still counts on the location page.
    location_page = admin.get(f"/dashboard/locations/{chain.a}").get_data(True)
    assert "Aleksandra" in location_page
    # A staff member of another location is not reachable through this one.
    other = chain.smiletap.cli.json("create-staff", "--location", chain.b, "--name", "Zed")["id"]
    assert post(admin, f"{page}/staff/{other}/active", {"active": "0"}, page).status_code == 404


def test_survey_editor_names_the_field_and_saves_a_new_version(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"/dashboard/admin/surveys/{chain.kiosk.survey_id}"
    editor = admin.get(page).get_data(True)
    assert "version 1" in editor and 'id="preview"' in editor
    assert editor.count('class="face ') == 10  # the smiley question, 5 faces, in en and pl
    broken = copy.deepcopy(SURVEY)
    broken["questions"][0]["scale"] = 6
    broken["questions"][1]["colour"] = "red"
    answer = post(admin, page, {"definition": json.dumps(broken)}, page)
    assert answer.status_code == 400
    text = answer.get_data(True)
    assert "questions[0]: scale 6 is not allowed for smiley" in text
    assert "questions[1]: unknown field(s): colour" in text
    assert "&#34;colour&#34;" in text  # the text the admin typed stays in the editor
    not_json = post(admin, page, {"definition": "{nope"}, page)
    assert not_json.status_code == 400 and "survey: Invalid JSON" in not_json.get_data(True)
    assert chain.kiosk.get("/api/v1/config").get_json()["survey"]["version"] == 1

    changed = copy.deepcopy(SURVEY)
    changed["questions"][0]["text"]["en"] = "How did we do?"
    saved = post(admin, page, {"definition": json.dumps(changed)}, page)
    assert saved.status_code == 302
    editor = admin.get(page).get_data(True)
    assert "version 2" in editor and "How did we do?" in editor
    survey = chain.kiosk.get("/api/v1/config").get_json()["survey"]
    assert survey["version"] == 2 and survey["questions"][0]["text"]["en"] == "How did we do?"


def test_new_survey_and_assignment(chain: Chain) -> None:
    admin = chain.client("admin")
    surveys_page = "/dashboard/admin/surveys/"
    nps_only = copy.deepcopy(SURVEY)
    nps_only["questions"] = [SURVEY["questions"][1]]
    made = post(admin, surveys_page, {"definition": json.dumps(nps_only)}, surveys_page)
    assert made.status_code == 302
    survey_id = made.headers["Location"].rsplit("/", 1)[1]
    preview = admin.get(made.headers["Location"]).get_data(True)
    assert len(re.findall(r'class="key">\d+<', preview)) == 22  # NPS keys 0..10, en and pl
    page = f"{LOCATIONS}{chain.a}"
    assign = post(admin, f"{page}/survey", {"survey_id": survey_id}, page)
    assert assign.status_code == 302
    assert chain.kiosk.get("/api/v1/config").get_json()["survey"]["id"] == survey_id
    assert post(admin, f"{page}/survey", {"survey_id": "srv_nope"}, page).status_code == 400


def test_users_create_with_role_and_locations_then_deactivate(chain: Chain) -> None:
    admin = chain.client("admin")
    page = "/dashboard/admin/users"
    form = {"email": "Bob@Example.com", "role": "manager", "password": "password"}
    weak = post(admin, page, {**form, "location_id": chain.b}, page)
    assert weak.status_code == 400 and "Password: this password is too common" in weak.get_data(
        True
    )
    no_scope = post(admin, page, {**form, "password": "a long enough secret"}, page)
    assert "a manager needs at least one location" in no_scope.get_data(True)
    made = post(
        admin, page, {**form, "password": "a long enough secret", "location_id": chain.b}, page
    )
    assert made.status_code == 302
    bob = chain.app.test_client()
    from tests.server.dashboard.conftest import login

    assert login(bob, "bob@example.com", "a long enough secret").status_code == 302
    assert bob.get(f"/dashboard/locations/{chain.b}").status_code == 200
    assert bob.get(f"/dashboard/locations/{chain.a}").status_code == 403
    listing = admin.get(page).get_data(True)
    user_id = re.search(r'data-user="([^"]+)">\s*<th scope="row">bob@example.com', listing)
    assert user_id
    off = post(admin, f"{page}/{user_id.group(1)}/active", {"active": "0"}, page)
    assert off.status_code == 302
    assert bob.get("/dashboard/").status_code == 302  # signed out at once
    assert "deactivated" in admin.get(page).get_data(True)


def test_api_key_is_shown_once_and_revoking_it_locks_it_out(chain: Chain) -> None:
    admin = chain.client("admin")
    page = "/dashboard/admin/api-keys"
    unscoped = post(admin, page, {"role": "manager"}, page)
    assert unscoped.status_code == 400
    assert "a manager needs at least one location" in unscoped.get_data(True)
    made = post(admin, page, {"role": "manager", "location_id": chain.a, "label": "BI"}, page)
    assert made.status_code == 200
    key = re.search(r'id="new-key">(stk_[^<]+)<', made.get_data(True))
    assert key
    assert (
        chain.smiletap.scores(
            key.group(1), **{"from": "2020-01-01", "to": "2030-01-01"}
        ).status_code
        == 200
    )
    assert key.group(1) not in admin.get(page).get_data(True)  # never shown again
    key_id = re.search(r'data-key="([^"]+)"', made.get_data(True))
    assert key_id
    assert post(admin, f"{page}/{key_id.group(1)}/revoke", {}, page).status_code == 302
    after = chain.smiletap.scores(key.group(1), **{"from": "2020-01-01", "to": "2030-01-01"})
    assert after.status_code == 401
    assert post(admin, f"{page}/{key_id.group(1)}/revoke", {}, page).status_code == 404


def test_forms_without_csrf_token_are_refused(chain: Chain) -> None:
    admin = chain.client("admin")
    answer = admin.post(LOCATIONS, data={"name": "X", "timezone": "Europe/Warsaw"})
    assert answer.status_code == 400


def test_alert_rules_per_location_override_the_defaults(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    base = {"name": "Centrum", "timezone": "Europe/Warsaw", "alert_rules_form": "1"}
    bad = post(admin, page, {**base, "alert_surge_share": "150"}, page)
    assert bad.status_code == 400 and "Alert rules: must be within 1..100" in bad.get_data(True)
    form = {**base, "alert_surge": "1", "alert_surge_share": "30", "alert_surge_window_min": "60"}
    assert post(admin, page, form, page).status_code == 302
    rules = json.loads(_location_row(chain, chain.a)["alert_rules"])
    assert rules == {
        "surge": True,
        "drop": False,
        "silent": False,
        "surge_share": 30.0,
        "surge_window_s": 3600.0,
    }
    edit = admin.get(page).get_data(True)
    assert 'name="alert_surge_share" inputmode="decimal" placeholder="50.0" value="30.0"' in edit


def _config_of(chain: Chain) -> dict:  # type: ignore[type-arg]
    response = chain.kiosk.get("/api/v1/config")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def _admin_changes(chain: Chain) -> dict[str, tuple[str, dict[str, str], str]]:
    """Each admin form that changes what /config sends: (path, form, page with the form)."""
    page = f"{LOCATIONS}{chain.a}"
    staff_id = chain.smiletap.cli.json("create-staff", "--location", chain.a, "--name", "Ola")["id"]
    changed = copy.deepcopy(SURVEY)
    changed["thank_you"]["en"] = "Cheers!"
    other_survey = chain.smiletap.survey()
    survey_page = f"/dashboard/admin/surveys/{chain.kiosk.survey_id}"
    where = {"name": "Centrum", "timezone": "Europe/Warsaw"}
    return {
        "location name": (page, {**where, "name": "Centrum 2"}, page),
        "time zone": (page, {**where, "timezone": "Europe/London"}, page),
        "opening hours": (page, {**where, "open_1": "08:00", "close_1": "20:00"}, page),
        "staff added": (f"{page}/staff", {"display_name": "Basia"}, page),
        "staff renamed": (f"{page}/staff/{staff_id}/rename", {"display_name": "Ala"}, page),
        "staff deactivated": (f"{page}/staff/{staff_id}/active", {"active": "0"}, page),
        "survey version": (survey_page, {"definition": json.dumps(changed)}, survey_page),
        "survey assigned": (f"{page}/survey", {"survey_id": other_survey}, page),
        "device moved": (
            f"/dashboard/devices/{chain.kiosk.device_id}/move",
            {"location_id": chain.b},
            "/dashboard/devices/",
        ),
    }


@pytest.mark.parametrize(
    "change",
    [
        "location name",
        "time zone",
        "opening hours",
        "staff added",
        "staff renamed",
        "staff deactivated",
        "survey version",
        "survey assigned",
        "device moved",
    ],
)
def test_every_admin_change_to_the_config_changes_its_etag(chain: Chain, change: str) -> None:
    path, form, page = _admin_changes(chain)[change]
    before = _config_of(chain)
    unchanged = chain.kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{before["etag"]}"'})
    assert unchanged.status_code == 304
    assert post(chain.client("admin"), path, form, page).status_code == 302
    after = chain.kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{before["etag"]}"'})
    assert after.status_code == 200, change
    body = after.get_json()
    assert body["etag"] != before["etag"]
    assert {k: v for k, v in body.items() if k != "etag"} != {
        k: v for k, v in before.items() if k != "etag"
    }
