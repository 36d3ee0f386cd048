"""Business results on the dashboard: the location page's panel (its figures, its chart data,
the link's verdict, narrowed to a touchpoint) and the chain view's ranking."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.db import get_engine
from server.store import contacts, devices
from tests.server.dashboard.conftest import Chain

FIRST = date(2026, 11, 2)
DAYS = 14
SPAN = {"period": "custom", "from": "2026-11-02", "to": "2026-11-15"}


def _accept(chain: Chain, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 500):
        results = chain.kiosk.submit(items[start : start + 500]).json["results"]
        assert {r["status"] for r in results} == {"accepted"}, results[:3]


def _put_kpis(chain: Chain, rows: list[dict[str, Any]]) -> None:
    key = chain.smiletap.api_key()
    response = chain.smiletap.client.put(
        "/api/v1/kpis", json={"rows": rows}, headers={"Authorization": f"Bearer {key}"}
    )
    assert {r["status"] for r in response.json["results"]} == {"stored"}, response.json


def _seed_planted_link(chain: Chain, touchpoint: str | None = None) -> None:
    """Fourteen days at A: 20 answers a day whose happy share moves, conversion with it."""
    rng = random.Random(3)
    items, rows = [], []
    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        happy = rng.randint(2, 18)
        values = [5] * happy + [1] * (20 - happy)
        items += [chain.kiosk.item(v, tapped_at=f"{day}T11:00:00Z") for v in values]
        conversion = 0.10 + 0.01 * happy + rng.gauss(0, 0.003)
        rows.append(
            {
                "location_id": chain.a,
                "date": day.isoformat(),
                "visitors": 1000,
                "transactions": round(1000 * conversion),
                "revenue": 5000.0,
            }
        )
    if touchpoint:  # 5 more answers on the first day, taken at the touchpoint
        items += [
            chain.kiosk.item(5, tapped_at=f"{FIRST}T12:00:00Z", touchpoint_id=touchpoint)
            for _ in range(5)
        ]
    _accept(chain, items)
    _put_kpis(chain, rows)


def test_panel_shows_rate_link_and_chart_data_for_the_period(chain: Chain) -> None:
    touchpoint = chain.smiletap.cli.json(
        "create-touchpoint", "--location", chain.a, "--name", "Till"
    )["id"]
    _seed_planted_link(chain, touchpoint)
    client = chain.client("manager")
    page = client.get(f"/dashboard/locations/{chain.a}", query_string=SPAN)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # 285 answers over 14,000 visitors: 2.0 per 100 (ratio of sums).
    assert re.search(r'id="response-rate">2\.0<', html)
    assert "<strong>Moves with.</strong>" in html
    assert "n = 14 days" in html and "not that one causes the other" in html
    assert "causes" not in html.replace("not that one causes the other", "")

    data = client.get(
        f"/dashboard/locations/{chain.a}/business.json",
        query_string={**SPAN, "score": "smiley", "kpi": "conversion"},
    ).json
    assert data["grain"] == "day"
    assert data["labels"] == [(FIRST + timedelta(days=i)).isoformat() for i in range(DAYS)]
    assert data["response_rate"][0] == 2.5 and data["response_rate"][1] == 2.0
    assert len(data["points"]) == 14 and data["link"]["verdict"] == "moves_with"
    assert data["link"]["ci95"][0] > 0 and data["link"]["words"] == "moves with"
    assert all(v is not None for v in data["scores"]) and all(data["kpis"])

    # Narrowed to the touchpoint: its 5 answers on one day, against the location's visitors.
    narrowed = client.get(
        f"/dashboard/locations/{chain.a}/business.json",
        query_string={**SPAN, "touchpoint": touchpoint},
    ).json
    rates = dict(zip(narrowed["labels"], narrowed["response_rate"], strict=True))
    assert rates[FIRST.isoformat()] == 0.5
    assert rates[(FIRST + timedelta(days=1)).isoformat()] == 0.0
    assert narrowed["link"]["verdict"] == "not_enough_data"
    page = client.get(
        f"/dashboard/locations/{chain.a}", query_string={**SPAN, "touchpoint": touchpoint}
    ).get_data(as_text=True)
    assert "<strong>Not enough data.</strong>" in page and "1 days with both" in page


def test_panel_of_a_foreign_location_is_refused(chain: Chain) -> None:
    client = chain.client("manager")
    assert client.get(f"/dashboard/locations/{chain.b}/business.json").status_code == 403


def test_panel_without_figures_says_so_and_offers_the_upload(chain: Chain) -> None:
    html = chain.client("admin").get(f"/dashboard/locations/{chain.b}").get_data(as_text=True)
    assert 'id="no-kpis"' in html and "/dashboard/kpis/upload" in html
    assert "<strong>Not enough data.</strong>" in html


def _cover(chain: Chain, device_id: str, day: date, hours: int) -> None:
    """The device in contact every minute of the first `hours` hours (UTC) of a day."""
    with get_engine(chain.app).begin() as conn:
        device = devices.get(conn, device_id)
        assert device is not None
        device["last_contact_at"] = None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for _ in range(hours * 60):
            contacts.mark(conn, device, moment, 60.0)
            device["last_contact_at"] = moment
            moment += timedelta(minutes=1)


def _ranked(html: str) -> list[str]:
    return re.findall(r'<tr data-location="([^"]+)"', html)


def test_chain_view_ranks_lowest_response_rate_and_coverage_first(chain: Chain) -> None:
    day = date(2026, 11, 10)
    c = chain.smiletap.location("Europe/Warsaw", "Middle")
    _accept(chain, [chain.kiosk.item(5, tapped_at=f"{day}T11:00:00Z") for _ in range(30)])
    _put_kpis(
        chain,
        [
            {"location_id": chain.a, "date": day.isoformat(), "visitors": 1000},  # 3.0
            {"location_id": chain.b, "date": day.isoformat(), "visitors": 500},  # 0.0
        ],
    )
    _cover(chain, chain.kiosk.device_id, day, 12)  # A: 12 hours
    _cover(chain, chain.device_b, day, 18)  # B: 18 of its 24
    _cover(chain, chain.device_b, day - timedelta(days=1), 1)  # B's history starts earlier
    span = {"period": "custom", "from": day.isoformat(), "to": day.isoformat()}
    admin = chain.client("admin")
    by_rate = admin.get("/dashboard/business", query_string=span).get_data(as_text=True)
    # Lowest response rate first; a location without visitor figures last.
    assert _ranked(by_rate) == [chain.b, chain.a, c]
    assert "few answers for its visitors" in by_rate  # B: 0.0, under half the median
    by_coverage = admin.get(
        "/dashboard/business", query_string={**span, "sort": "coverage"}
    ).get_data(as_text=True)
    assert _ranked(by_coverage) == [chain.a, chain.b, c]
    # A's history starts at 00:00 UTC, an hour into its Warsaw day: 720 of 1380 minutes.
    assert re.findall(r'class="coverage">([^<]*)<', by_coverage) == ["52.2 %", "75.0 %", "–"]
    assert "kiosks out of contact part of the day" in by_coverage
    # A manager ranks only their own locations.
    mine = chain.client("manager").get("/dashboard/business", query_string=span)
    assert _ranked(mine.get_data(as_text=True)) == [chain.a]
