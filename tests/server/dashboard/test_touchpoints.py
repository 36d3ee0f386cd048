"""Touchpoints on the dashboard: the admin creates, renames, archives them and places devices;
the location page compares them and narrows every part to one."""

from __future__ import annotations

import re

from tests.server.dashboard.conftest import Chain, post

LOCATIONS = "/dashboard/admin/locations/"


def test_admin_creates_renames_archives_and_places(chain: Chain) -> None:
    admin = chain.client("admin")
    page = f"{LOCATIONS}{chain.a}"
    bad = post(admin, f"{page}/touchpoints", {"name": "Till\r\nBcc: x"}, page)
    assert bad.status_code == 302
    assert "control characters" in admin.get(page).get_data(True)
    made = post(admin, f"{page}/touchpoints", {"name": "Tills", "kind": "checkout"}, page)
    assert made.status_code == 302
    found = re.search(r'data-touchpoint="([^"]+)"', admin.get(page).get_data(True))
    assert found, "the new touchpoint is listed"
    tp = found.group(1)

    placed = post(admin, f"/dashboard/devices/{chain.kiosk.device_id}/touchpoint",
                  {"touchpoint_id": tp}, "/dashboard/devices/")  # fmt: skip
    assert placed.status_code == 302
    assert chain.kiosk.get("/api/v1/config").get_json()["touchpoint"] == {
        "id": tp, "name": "Tills", "kind": "checkout"
    }  # fmt: skip
    assert "at Tills" in admin.get("/dashboard/devices/").get_data(True)

    renamed = post(admin, f"{page}/touchpoints/{tp}", {"name": "Checkouts", "kind": "checkout"},
                   page)  # fmt: skip
    assert renamed.status_code == 302
    assert chain.kiosk.get("/api/v1/config").get_json()["touchpoint"]["name"] == "Checkouts"

    archived = post(admin, f"{page}/touchpoints/{tp}/archived", {"archived": "1"}, page)
    assert archived.status_code == 302
    assert "Restore" in admin.get(page).get_data(True)

    # A touchpoint of another location is no place for this device, nor reachable from here.
    other = chain.smiletap.cli.json("create-touchpoint", "--location", chain.b, "--name", "X")
    wrong = post(admin, f"/dashboard/devices/{chain.kiosk.device_id}/touchpoint",
                 {"touchpoint_id": other["id"]}, "/dashboard/devices/")  # fmt: skip
    assert wrong.status_code == 400
    assert post(admin, f"{page}/touchpoints/{other['id']}", {"name": "Y"}, page).status_code == 404


def test_location_page_compares_touchpoints_and_narrows_to_one(chain: Chain) -> None:
    cli, kiosk = chain.smiletap.cli, chain.kiosk
    door = cli.json("create-touchpoint", "--location", chain.a, "--name", "Door", "--kind",
                    "entrance")["id"]  # fmt: skip
    tills = cli.json("create-touchpoint", "--location", chain.a, "--name", "Tills", "--kind",
                     "checkout")["id"]  # fmt: skip
    items = [kiosk.item(5, touchpoint_id=door) for _ in range(12)]
    items += [kiosk.item(1, touchpoint_id=tills) for _ in range(2)]
    assert {r["status"] for r in kiosk.submit(items).get_json()["results"]} == {"accepted"}
    manager = chain.client("manager")
    whole = manager.get(f"/dashboard/locations/{chain.a}").get_data(True)
    table = whole[whole.index('id="touchpoints"') :]
    table = table[: table.index("</table>")]
    assert "Door" in table and "Tills" in table and "not enough responses" in table
    assert 'id="touchpoint-picker"' in whole

    narrowed = manager.get(f"/dashboard/locations/{chain.a}?touchpoint={tills}").get_data(True)
    assert re.search(r'id="total-n">2<', narrowed), "the totals count the tills only"
    assert 'id="narrowed"' in narrowed and f"touchpoint={tills}" in narrowed
    chart = manager.get(f"/dashboard/locations/{chain.a}/chart.json?touchpoint={tills}")
    counts = next(iter(chart.get_json()["distribution"].values()))["counts"]
    assert sum(counts) == 2
    export = manager.get(f"/dashboard/locations/{chain.a}/responses.csv?touchpoint={door}")
    assert export.get_data(True).count(door) == 12
    # Another location's touchpoint is ignored: the whole location is shown.
    other = cli.json("create-touchpoint", "--location", chain.b, "--name", "X")["id"]
    ignored = manager.get(f"/dashboard/locations/{chain.a}?touchpoint={other}").get_data(True)
    assert re.search(r'id="total-n">14<', ignored)


def test_overview_compares_one_kind_of_touchpoint_across_locations(chain: Chain) -> None:
    cli, kiosk = chain.smiletap.cli, chain.kiosk
    tills = cli.json("create-touchpoint", "--location", chain.a, "--name", "Tills", "--kind",
                     "checkout")["id"]  # fmt: skip
    items = [kiosk.item(5, touchpoint_id=tills) for _ in range(3)]
    items += [kiosk.item(1) for _ in range(4)]  # at no touchpoint
    assert {r["status"] for r in kiosk.submit(items).get_json()["results"]} == {"accepted"}
    admin = chain.client("admin")
    everything = admin.get("/dashboard/").get_data(True)
    assert re.search(r'id="chain-n">7<', everything) and 'id="kind-picker"' in everything
    checkouts = admin.get("/dashboard/?kind=checkout").get_data(True)
    assert "Checkouts, chain-wide" in checkouts
    assert re.search(r'id="chain-n">3<', checkouts)
    entrances = admin.get("/dashboard/?kind=entrance").get_data(True)
    assert re.search(r'id="chain-n">0<', entrances)  # no entrance anywhere: nothing counted
    assert re.search(r'id="chain-n">7<', admin.get("/dashboard/?kind=roof").get_data(True))


def test_burst_count_is_narrowed_to_the_chosen_touchpoint(chain: Chain) -> None:
    tp = chain.smiletap.cli.json("create-touchpoint", "--location", chain.a, "--name", "Door")["id"]
    burst = [chain.kiosk.item(1, flags=["burst"]) for _ in range(2)]
    burst.append(chain.kiosk.item(1, flags=["burst"], touchpoint_id=tp))
    assert chain.kiosk.submit(burst).status_code == 200
    client = chain.client("manager")
    page = f"/dashboard/locations/{chain.a}"
    assert "3 answers from burst-flagged taps" in client.get(page).get_data(True)
    at_door = client.get(page, query_string={"touchpoint": tp}).get_data(True)
    assert "1 answer from burst-flagged taps" in at_door
    at_none = client.get(page, query_string={"touchpoint": "none"}).get_data(True)
    assert "2 answers from burst-flagged taps" in at_none
