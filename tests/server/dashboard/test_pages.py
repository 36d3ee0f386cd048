"""The pages show the numbers the seeded answers give; devices can be made, moved and revoked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from server import settings
from server.dashboard import period as periods
from server.dashboard.devices import device_state
from shared.clock import utcnow
from tests.server.dashboard.conftest import Chain, post

NPS_VALUES = [10, 10, 10, 9, 8, 7, 6, 5, 0, 10]  # 5 promoters, 2 passives, 3 detractors: 20.0


def _seed(chain: Chain) -> None:
    kiosk = chain.kiosk
    items = [kiosk.item(v, question_id="q2") for v in NPS_VALUES]
    unhappy = kiosk.item(1)
    unhappy["answers"][0]["reasons"] = ["wait", "rude"]
    items += [
        unhappy,
        kiosk.item(2, answers=[{"question_id": "q1", "value": 2, "reasons": ["wait"]}]),
    ]
    items += [kiosk.item(5), kiosk.item(4)]
    assert kiosk.submit(items).status_code == 200


def test_overview_shows_scores_with_intervals_and_unranked_rows(chain: Chain) -> None:
    _seed(chain)
    html = chain.client("admin").get("/dashboard/?period=7").get_data(as_text=True)
    row = re.search(rf'data-location="{chain.a}".*?</tr>', html, re.S)
    assert row, html
    assert ">20.0<" in row.group(0)  # NPS
    assert ">50.0%<" in row.group(0)  # smiley: 2 of 4 in the upper half
    assert "not enough responses" in row.group(0)
    assert 'class="ci-band"' in row.group(0)


def test_ranked_rows_sort_before_unranked(app: Flask, chain: Chain) -> None:
    settings.override(app, min_n=5)
    _seed(chain)
    html = chain.client("admin").get("/dashboard/?sort=nps&dir=desc").get_data(as_text=True)
    assert html.index(chain.a) < html.index(chain.b)
    assert 'class="ranked" data-location="' + chain.a in html


def test_location_page(chain: Chain) -> None:
    _seed(chain)
    html = chain.client("manager").get(f"/dashboard/locations/{chain.a}").get_data(as_text=True)
    assert 'id="total-n">10<' in html
    # The card counts the most-answered question (10 NPS answers); the business panel counts
    # visits that answered (14 submissions), and each says which it is.
    assert 'id="total-n-note">to the most-answered question<' in html
    assert 'id="responses">14 responses (visits that answered)<' in html
    assert "not enough responses" in html
    assert "Waiting" in html and "Rude" in html  # reasons by their survey text
    assert "burst-flagged" not in html  # no burst taps, no burst line
    assert 'id="heatmap"' in html and 'id="trend"' in html
    # Only the kinds the period has answers for: NPS and smiley, no empty CSAT/CES cards.
    assert "metric-nps" in html and "metric-smiley" in html
    assert "metric-csat" not in html and "metric-ces" not in html and ">CSAT<" not in html


def test_location_page_names_burst_answers_when_there_are_some(chain: Chain) -> None:
    _seed(chain)
    burst = chain.kiosk.item(1, flags=["burst"])
    assert chain.kiosk.submit([burst]).status_code == 200
    html = chain.client("manager").get(f"/dashboard/locations/{chain.a}").get_data(as_text=True)
    assert "1 answer from burst-flagged taps left out" in html


def test_overview_shows_the_chain_and_who_moved_clearly(chain: Chain) -> None:
    kiosk = chain.kiosk
    long_ago = (utcnow() - timedelta(days=45)).isoformat().replace("+00:00", "Z")
    before = [kiosk.item(0, question_id="q2", tapped_at=long_ago) for _ in range(20)]
    now = [kiosk.item(10, question_id="q2") for _ in range(20)]
    assert kiosk.submit(before + now).status_code == 200
    html = chain.client("admin").get("/dashboard/?period=30").get_data(as_text=True)
    chain_block = html[html.index('id="chain-scores"') : html.index('id="moves"')]
    assert 'id="chain-n">20<' in chain_block and "100.0" in chain_block  # NPS of the chain
    assert "metric-smiley" not in chain_block  # no smiley answers in the period
    moves = html[html.index('id="moves"') : html.index('id="open-alerts"')]
    assert f'class="move-up" data-location="{chain.a}"' in moves
    assert "NPS -100.0 → <strong>100.0</strong>" in moves
    assert "No open alerts." in html
    previous = chain.client("admin").get("/dashboard/?period=7").get_data(as_text=True)
    assert "No location moved clearly" in previous  # nothing in the week before


def test_chart_data(chain: Chain) -> None:
    _seed(chain)
    data = chain.client("manager").get(f"/dashboard/locations/{chain.a}/chart.json").get_json()
    nps = data["trend"]["series"]["nps"]
    assert 20.0 in nps["value"] and len(nps["lo"]) == len(data["trend"]["labels"])
    # The x axis spans the days with answers (all today), not the whole 30-day period.
    assert data["trend"]["labels"] == [today_of(chain)]
    assert set(data["trend"]["series"]) == {"nps", "smiley"}
    assert sum(data["distribution"]["nps-11"]["counts"]) == 10
    assert data["distribution"]["smiley-5"]["counts"] == [1, 1, 0, 1, 1]


def today_of(chain: Chain) -> str:
    """The store-local date today at location A (Europe/Warsaw)."""
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo("Europe/Warsaw")).date().isoformat()


def test_csv_export(chain: Chain) -> None:
    _seed(chain)
    response = chain.client("manager").get(f"/dashboard/locations/{chain.a}/responses.csv")
    assert response.mimetype == "text/csv"
    assert len(response.get_data(as_text=True).strip().splitlines()) == 1 + 14


def test_create_device_shows_code_and_qr_then_revoke(chain: Chain) -> None:
    client = chain.client("admin")
    response = post(client, "/dashboard/devices/", {"location_id": chain.a, "name": "Till 2"})
    html = response.get_data(as_text=True)
    code = re.search(r'id="enroll-code">([A-Z]{5}-[A-Z]{5})<', html)
    assert code and "<svg" in html
    enrolled = chain.app.test_client().post("/api/v1/enroll", json={"code": code.group(1)})
    assert enrolled.status_code == 201
    device_id = enrolled.get_json()["device_id"]
    listing = client.get("/dashboard/devices/").get_data(as_text=True)
    assert device_id in listing and "state-ok" in listing
    # The list's Revoke asks first: a page naming the device and its location.
    assert f'href="/dashboard/devices/{device_id}/revoke"' in listing
    assert f'action="/dashboard/devices/{device_id}/revoke"' not in listing
    confirm = client.get(f"/dashboard/devices/{device_id}/revoke").get_data(as_text=True)
    assert "Revoke “Till 2”?" in confirm and "Centrum" in confirm and "re-enroll" in confirm
    assert client.get("/dashboard/devices/dev_nope/revoke").status_code == 404
    page = f"/dashboard/devices/{device_id}/revoke"
    assert post(client, page, page=page).status_code == 302
    token = enrolled.get_json()["token"]
    config = chain.app.test_client().get(
        "/api/v1/config", headers={"Authorization": f"Bearer {token}"}
    )
    assert config.status_code == 401


def test_move_device_to_another_location(chain: Chain) -> None:
    kiosk, admin = chain.kiosk, chain.client("admin")
    before = kiosk.item(5)
    assert kiosk.submit([before]).status_code == 200
    old = kiosk.get("/api/v1/config")
    assert old.get_json()["location"]["id"] == chain.a
    listing = admin.get("/dashboard/devices/").get_data(as_text=True)
    assert f'action="/dashboard/devices/{kiosk.device_id}/move"' in listing

    moved = post(admin, f"/dashboard/devices/{kiosk.device_id}/move", {"location_id": chain.b})
    assert moved.status_code == 302
    assert "moved to Zeta Mall" in admin.get("/dashboard/devices/").get_data(as_text=True)

    config = kiosk.get("/api/v1/config", headers={"If-None-Match": old.headers["ETag"]})
    assert config.status_code == 200 and config.headers["ETag"] != old.headers["ETag"]
    assert config.get_json()["location"]["id"] == chain.b
    late = kiosk.item(4)  # still made for the old location
    results = kiosk.submit([late]).get_json()["results"]
    assert results == [
        {
            "id": late["id"],
            "status": "rejected",
            "reason": "location_mismatch",
            "field": "submissions[0].location_id",
        }
    ]
    period = "?from=2000-01-01&to=2100-12-31"
    old_csv = admin.get(f"/dashboard/locations/{chain.a}/responses.csv{period}").get_data(True)
    assert before["id"] in old_csv and late["id"] not in old_csv
    new_csv = admin.get(f"/dashboard/locations/{chain.b}/responses.csv{period}").get_data(True)
    assert before["id"] not in new_csv


def test_move_device_unknown_location_or_device(chain: Chain) -> None:
    admin = chain.client("admin")
    path = f"/dashboard/devices/{chain.kiosk.device_id}/move"
    assert post(admin, path, {"location_id": "loc_nope"}).status_code == 400
    missing = post(admin, "/dashboard/devices/dev_nope/move", {"location_id": chain.b})
    assert missing.status_code == 404
    assert chain.kiosk.get("/api/v1/config").get_json()["location"]["id"] == chain.a


def test_move_device_needs_csrf_and_admin(chain: Chain) -> None:
    path = f"/dashboard/devices/{chain.kiosk.device_id}/move"
    assert chain.client("admin").post(path, data={"location_id": chain.b}).status_code == 400
    assert post(chain.client("manager"), path, {"location_id": chain.a}).status_code == 403
    assert chain.kiosk.get("/api/v1/config").get_json()["location"]["id"] == chain.a


def test_last_contact_reads_as_time_ago_with_the_store_time_on_hover(chain: Chain) -> None:
    listing = chain.client("admin").get("/dashboard/devices/").get_data(as_text=True)
    row = re.search(rf'data-device="{chain.kiosk.device_id}".*?</tr>', listing, re.S)
    assert row, listing
    assert re.search(r'title="\w{3} \d+ \w{3} \d{4}, \d\d:\d\d Europe/Warsaw">[^<]*ago<', row[0])
    assert " UTC<" not in row[0]


def test_device_states() -> None:
    now = utcnow()
    base = {"revoked_at": None, "enrolled_at": now, "last_contact_at": now}

    def state(**changes: object) -> str:
        return device_state({**base, **changes}, now, 3600, 86400)

    assert state() == "ok"
    assert state(last_contact_at=now - timedelta(hours=2)) == "warning"
    assert state(last_contact_at=now - timedelta(hours=25)) == "critical"
    assert state(revoked_at=now) == "revoked"
    assert state(enrolled_at=None, last_contact_at=None) == "not enrolled"


def test_the_devices_page_shows_wrong_it_pins_from_the_heartbeat(chain: Chain) -> None:
    body = {"sent_at": "2026-12-02T10:00:00Z", "app_version": "1.0.0", "it_pin_failures": 7}
    assert chain.kiosk.post("/api/v1/heartbeat", json=body).status_code == 200
    page = chain.client("admin").get("/dashboard/devices/").get_data(as_text=True)
    assert "7 wrong IT PINs in a row" in page
    body["it_pin_failures"] = 0  # the right PIN came: the warning goes
    assert chain.kiosk.post("/api/v1/heartbeat", json=body).status_code == 200
    assert "wrong IT PIN" not in chain.client("admin").get("/dashboard/devices/").get_data(True)


def test_pages_show_today_at_the_stores_not_the_newest_date_anywhere(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 17:40 in Warsaw is already tomorrow on Kiritimati (UTC+14); the pages go by the stores.
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 12, 7, 16, 40, tzinfo=UTC))
    client = chain.client("admin")
    for url in ("/dashboard/?period=7", f"/dashboard/locations/{chain.a}?period=7"):
        html = client.get(url).get_data(as_text=True)
        assert "1 Dec – 7 Dec 2026" in html, url
