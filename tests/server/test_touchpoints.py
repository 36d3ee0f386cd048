"""Touchpoints: the CLI, /config, the config stamp, ingest of `touchpoint_id`, reports and the
CSV export (PROTOCOL.md, "Touchpoints and business results")."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from server import migrations
from server.db import make_engine
from server.store import pending_rollups, rollups, touchpoints
from server.store.filters import Filters
from server.store.schema import locations
from server.store.schema import rollups as rollups_table
from tests.server.conftest import Cli, Kiosk, Smiletap

ALL_DAYS = (date(2000, 1, 1), date(2100, 1, 1))
OTHER_SURVEY: dict[str, Any] = {
    "languages": ["en"],
    "default_language": "en",
    "questions": [{"id": "pay", "kind": "csat", "scale": 5, "text": {"en": "Paying?"}}],
    "staff_prompt": "none",
    "thank_you": {"en": "Thanks!"},
}


def _touchpoint(runner: Cli, location_id: str, name: str, *extra: str) -> str:
    args = ("create-touchpoint", "--location", location_id, "--name", name, *extra)
    return str(runner.json(*args)["id"])


def _placed_kiosk(smiletap: Smiletap, runner: Cli, location_id: str, touchpoint_id: str) -> Kiosk:
    """A second enrolled device of the location, created at the touchpoint."""
    device = runner.json(
        "create-device", "--location", location_id, "--name", "Till", "--touchpoint", touchpoint_id
    )
    token = smiletap.enroll(device["code"])
    survey_id = smiletap.client.get(
        "/api/v1/config", headers={"Authorization": f"Bearer {token}"}
    ).json["survey"]["id"]
    return Kiosk(smiletap.client, location_id, survey_id, device["device_id"], token)


def test_create_touchpoint_and_config_carries_it(smiletap: Smiletap, runner: Cli) -> None:
    kiosk = smiletap.setup()
    own_survey = smiletap.survey(OTHER_SURVEY)
    entrance = _touchpoint(runner, kiosk.location_id, "Entrance", "--kind", "entrance")
    checkout = _touchpoint(
        runner, kiosk.location_id, "Tills", "--kind", "checkout", "--survey", own_survey
    )
    assert entrance.startswith("tp") and entrance != checkout

    assert kiosk.get("/api/v1/config").json["touchpoint"] is None
    moved = runner.json("move-device", kiosk.device_id, "--touchpoint", entrance)
    assert moved["touchpoint_id"] == entrance
    config = kiosk.get("/api/v1/config").json
    assert config["touchpoint"] == {"id": entrance, "name": "Entrance", "kind": "entrance"}
    assert config["survey"]["id"] == kiosk.survey_id  # no own survey: the location's

    runner.json("move-device", kiosk.device_id, "--touchpoint", checkout)
    config = kiosk.get("/api/v1/config").json
    assert config["touchpoint"]["kind"] == "checkout"
    assert config["survey"]["id"] == own_survey  # the touchpoint's own survey

    runner.json("move-device", kiosk.device_id, "--touchpoint", "none")
    assert kiosk.get("/api/v1/config").json["touchpoint"] is None


def test_cli_refuses_bad_touchpoints(smiletap: Smiletap, runner: Cli) -> None:
    here, there = smiletap.location(name="Here"), smiletap.location(name="There")
    theirs = _touchpoint(runner, there, "Door")
    cases = [
        ("create-touchpoint", "--location", here, "--name", "Bad\nname"),
        ("create-touchpoint", "--location", here, "--name", "X", "--kind", "roof"),
        ("create-touchpoint", "--location", "loc_nope", "--name", "X"),
        ("create-touchpoint", "--location", here, "--name", "X", "--survey", "srv_nope"),
        ("create-device", "--location", here, "--name", "K", "--touchpoint", theirs),
        ("create-device", "--location", here, "--name", "K", "--touchpoint", "tp_nope"),
    ]
    for args in cases:
        result = runner.invoke(*args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
        assert "--" in result.output, result.output  # names the option at fault
    other_location = runner.invoke(
        "create-device", "--location", here, "--name", "K", "--touchpoint", theirs
    )
    assert "another location" in other_location.output
    device_id = smiletap.device(here)["device_id"]
    wrong = runner.invoke("move-device", device_id, "--touchpoint", theirs)
    assert wrong.exit_code != 0 and "another location" in wrong.output
    engine = make_engine(runner.env["SMILETAP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert touchpoints.of_location(conn, here) == []
    finally:
        engine.dispose()


def _stamp(database_url: str, location_id: str) -> str:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(locations.c.config_stamp).where(locations.c.id == location_id)
            return str(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_every_touchpoint_change_ends_the_304(
    smiletap: Smiletap, runner: Cli, database_url: str
) -> None:
    kiosk = smiletap.setup()
    own_survey = smiletap.survey(OTHER_SURVEY)
    engine = make_engine(database_url)
    made: dict[str, str] = {}

    def in_store(change: Callable[[Any], object]) -> Callable[[], object]:
        def run() -> object:
            with engine.begin() as conn:
                return change(conn)

        return run

    def create() -> None:
        made["tp"] = _touchpoint(runner, kiosk.location_id, "Door")

    def place(where: str) -> Callable[[], object]:
        return lambda: runner.json("move-device", kiosk.device_id, "--touchpoint", where)

    def new_version() -> None:
        runner.json("update-survey", own_survey, "--file", smiletap.survey_file(OTHER_SURVEY))

    changes: list[tuple[str, Callable[[], object]]] = [
        ("create", create),
        ("move device", lambda: place(made["tp"])()),
        ("rename", in_store(lambda c: touchpoints.rename(c, made["tp"], "Main door"))),
        ("kind", in_store(lambda c: touchpoints.set_kind(c, made["tp"], "entrance"))),
        ("survey", in_store(lambda c: touchpoints.assign_survey(c, made["tp"], own_survey))),
        ("new version", new_version),
        ("archive", in_store(lambda c: touchpoints.set_archived(c, made["tp"], True))),
        ("device off", place("none")),
    ]  # fmt: skip
    try:
        for what, change in changes:
            before = _stamp(database_url, kiosk.location_id)
            etag = kiosk.get("/api/v1/config").json["etag"]
            assert (
                kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'}).status_code
                == 304
            )
            change()
            assert _stamp(database_url, kiosk.location_id) != before, what
            after = kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
            assert after.status_code == 200, what
    finally:
        engine.dispose()
    assert kiosk.get("/api/v1/config").json["touchpoint"] is None


def test_submissions_file_taps_at_their_touchpoint(smiletap: Smiletap, runner: Cli) -> None:
    kiosk = smiletap.setup()
    entrance = _touchpoint(runner, kiosk.location_id, "Entrance", "--kind", "entrance")
    checkout = _touchpoint(runner, kiosk.location_id, "Tills", "--kind", "checkout")
    elsewhere = smiletap.location(name="Elsewhere")
    theirs = _touchpoint(runner, elsewhere, "Door")
    runner.json("move-device", kiosk.device_id, "--touchpoint", checkout)
    # A backlog from before the move (at the entrance), one at none, one from an old client.
    old = kiosk.item(1, touchpoint_id=entrance)
    nowhere = kiosk.item(2, touchpoint_id=None)
    legacy = kiosk.item(3)
    legacy.pop("touchpoint_id", None)
    bad = [kiosk.item(4, touchpoint_id=theirs), kiosk.item(4, touchpoint_id="tp_nope")]
    results = kiosk.submit([old, nowhere, legacy, *bad]).json["results"]
    assert [r["status"] for r in results[:3]] == ["accepted"] * 3
    for index, result in enumerate(results[3:], start=3):
        assert (result["status"], result["reason"]) == ("rejected", "unknown_touchpoint")
        assert result["field"] == f"submissions[{index}].touchpoint_id"
    # The same taps again: duplicates, however the touchpoint was spelled.
    legacy_with_null = {**legacy, "touchpoint_id": None}
    again = kiosk.submit([old, nowhere, legacy_with_null]).json["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 3

    key = smiletap.api_key()
    period = {"from": "2020-01-01", "to": "2029-12-31", "include_burst": "true"}
    groups = smiletap.scores(key, group_by="touchpoint", **period).json["groups"]
    by_touchpoint = {g["key"]["touchpoint_id"]: g["smiley"]["counts"] for g in groups}
    assert by_touchpoint == {
        entrance: [1, 0, 0, 0, 0],
        None: [0, 1, 0, 0, 0],
        checkout: [0, 0, 1, 0, 0],  # absent: the device's touchpoint at receipt
    }
    assert {tuple(g["key"]) for g in groups} == {("location_id", "touchpoint_id")}

    narrowed = smiletap.scores(key, touchpoint_id=[entrance, "none"], **period).json["groups"]
    assert narrowed[0]["smiley"]["counts"] == [1, 1, 0, 0, 0]
    staff_view = smiletap.scores(key, group_by="day", touchpoint_id=checkout, **period).json
    assert sum(g["n"] for g in staff_view["groups"]) == 1
    bad_filter = smiletap.scores(key, touchpoint_id="no spaces", **period)
    assert bad_filter.status_code == 400 and bad_filter.json["error"]["field"] == "touchpoint_id"

    export = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={**period, "touchpoint_id": checkout},
        headers={"Authorization": f"Bearer {key}"},
    )
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["touchpoint_id"], r["value"]) for r in rows] == [(checkout, "3")]


def test_moving_to_another_location_leaves_the_touchpoint(smiletap: Smiletap, runner: Cli) -> None:
    kiosk = smiletap.setup()
    door = _touchpoint(runner, kiosk.location_id, "Door")
    runner.json("move-device", kiosk.device_id, "--touchpoint", door)
    other = smiletap.location(name="Other")
    runner.json("move-device", kiosk.device_id, "--location", other)
    assert kiosk.get("/api/v1/config").json["touchpoint"] is None


@pytest.mark.parametrize("kind", [None, "fitting_room"])
def test_a_kiosk_created_at_a_touchpoint_shows_it(
    smiletap: Smiletap, runner: Cli, kind: str | None
) -> None:
    location_id = smiletap.location()
    survey_id = smiletap.survey()
    runner.json("assign-survey", "--location", location_id, "--survey", survey_id)
    extra = () if kind is None else ("--kind", kind)
    fitting = _touchpoint(runner, location_id, "Fitting rooms", *extra)
    kiosk = _placed_kiosk(smiletap, runner, location_id, fitting)
    config = kiosk.get("/api/v1/config").json
    assert config["touchpoint"] == {"id": fitting, "name": "Fitting rooms", "kind": kind}
    result = kiosk.submit([kiosk.item(5)]).json["results"][0]
    assert result["status"] == "accepted"
    engine = make_engine(runner.env["SMILETAP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            pending_rollups.caught_up(conn)  # read as a reader reads them
            assert rollups.differences(conn) == 0
            counted = rollups.counts(conn, "touchpoint", Filters(*ALL_DAYS, None, True))
        assert {row["touchpoint_id"] for row in counted} == {fitting}
    finally:
        engine.dispose()


def test_migration_puts_existing_data_at_no_touchpoint(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrations.alembic_config(engine)
    hourly = "('L', '', 'S', 1, 'q1', 'smiley', 5, '2026-01-31', 6, 23, 0, 4, 3)"
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0011")  # the period tables are filled (empty) at 0005
            conn.execute(
                text(
                    "INSERT INTO locations (id, name, timezone, created_at) "
                    "VALUES ('L', 'Centrum', 'UTC', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO devices (id, location_id, name, created_at) "
                    "VALUES ('D', 'L', 'Door', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(text(f"INSERT INTO rollups VALUES {hourly}"))
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT touchpoint_id FROM devices")).all() == [(None,)]
            kept = conn.execute(select(rollups_table)).all()
            assert [tuple(row) for row in kept] == [
                ("L", "", "", "S", 1, "q1", "smiley", 5, date(2026, 1, 31), 6, 23, False, 4, 3)
            ]
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0011")
            assert [tuple(r)[-1] for r in conn.execute(text("SELECT * FROM rollups"))] == [3]
    finally:
        engine.dispose()
