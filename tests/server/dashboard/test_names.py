"""The dashboard's forms refuse a line break (or any control character) in a name, naming the
field; nothing is stored."""

from __future__ import annotations

from tests.server.dashboard.conftest import Chain, post

BROKEN = "Centrum\r\nBcc: everyone@example.com"
LOCATIONS = "/dashboard/admin/locations/"


def _names(chain: Chain, table: str) -> list[str]:
    from sqlalchemy import text

    from server.db import get_db

    column = "display_name" if table == "staff" else "name"
    with chain.app.app_context():
        conn = get_db()
        with conn.begin():
            return [r[0] for r in conn.execute(text(f"SELECT {column} FROM {table}"))]


def test_dashboard_forms_refuse_a_line_break_in_a_name(chain: Chain) -> None:
    admin = chain.client("admin")
    made = post(admin, LOCATIONS, {"name": BROKEN, "timezone": "Europe/Warsaw"}, LOCATIONS)
    assert made.status_code == 400
    assert "Name: must be one line without control characters (it holds U+000D)" in (
        made.get_data(True)
    )
    page = f"{LOCATIONS}{chain.a}"
    edited = post(admin, page, {"name": BROKEN, "timezone": "Europe/Warsaw"}, page)
    assert edited.status_code == 400
    hook = {"name": "Centrum", "timezone": "Europe/Warsaw", "webhook_url": "https://x/\nHost: y"}
    assert "Webhook URL: must be one line" in post(admin, page, hook, page).get_data(True)
    assert BROKEN not in _names(chain, "locations")

    added = post(admin, f"{page}/staff", {"display_name": "Ola\nNowak"}, page)
    assert added.status_code == 302
    assert "Name: must be one line" in admin.get(page).get_data(True)  # the flashed message
    assert "Ola\nNowak" not in _names(chain, "staff")

    device = post(admin, "/dashboard/devices/", {"location_id": chain.a, "name": "Till\n2"})
    assert device.status_code == 302
    assert "Name: must be one line" in admin.get("/dashboard/devices/").get_data(True)
    assert "Till\n2" not in _names(chain, "devices")

    users = "/dashboard/admin/users"
    form = {"email": "bob@example.com\r\nBcc: x@example.com", "role": "admin"}
    refused = post(admin, users, {**form, "password": "a long enough secret"}, users)
    assert refused.status_code == 400 and "E-mail: give an address" in refused.get_data(True)

    keys = "/dashboard/admin/api-keys"
    label = post(admin, keys, {"role": "admin", "label": "BI\nteam"}, keys)
    assert label.status_code == 400 and "Label: must be one line" in label.get_data(True)


def test_a_staff_rename_with_a_line_break_keeps_the_old_name(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    staff_id = chain.smiletap.cli.json("create-staff", "--location", chain.a, "--name", "Ola")["id"]
    rename = f"{page}/staff/{staff_id}/rename"
    assert post(admin, rename, {"display_name": "Ola\u2028X"}, page).status_code == 302
    assert "Ola" in _names(chain, "staff") and "Ola\u2028X" not in _names(chain, "staff")
