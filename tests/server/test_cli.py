"""The `smiletap-server` commands."""

from __future__ import annotations

import json

from sqlalchemy import select

from server import migrations
from server.db import make_engine
from server.store import pending_rollups
from server.store.schema import rollups
from tests.server.conftest import SURVEY, Cli, Smiletap


def test_migrate_is_idempotent(runner: Cli) -> None:
    assert runner.json("migrate") == {"revision": migrations.head_revision()}
    assert runner.json("migrate") == {"revision": migrations.head_revision()}
    assert f"revision {migrations.head_revision()}" in runner.invoke("migrate").output


def test_migrate_fresh_sqlite_in_instance_folder(tmp_path) -> None:
    cli = Cli("", str(tmp_path))
    del cli.env["SMILETAP_DATABASE_URL"]
    assert cli.json("migrate") == {"revision": migrations.head_revision()}
    assert (tmp_path / "smiletap.db").exists()


def test_create_location(runner: Cli) -> None:
    assert runner.json("create-location", "--name", "A", "--timezone", "Europe/Warsaw")["id"]
    assert runner.invoke("create-location", "--name", "A", "--timezone", "UTC").exit_code == 0


def test_create_location_bad_timezone(runner: Cli) -> None:
    result = runner.invoke("create-location", "--name", "A", "--timezone", "Mars/Olympus")
    assert result.exit_code != 0
    assert "--timezone" in result.output
    assert "Traceback" not in result.output


def test_create_and_update_survey(smiletap: Smiletap, runner: Cli) -> None:
    created = runner.json("create-survey", "--file", smiletap.survey_file())
    assert created["version"] == 1
    updated = runner.json("update-survey", created["id"], "--file", smiletap.survey_file())
    assert updated == {"id": created["id"], "version": 2}


def test_update_unknown_survey(smiletap: Smiletap, runner: Cli) -> None:
    result = runner.invoke("update-survey", "srv_nope", "--file", smiletap.survey_file())
    assert result.exit_code != 0
    assert "srv_nope" in result.output


def test_bad_survey_file_names_field(smiletap: Smiletap, runner: Cli) -> None:
    bad = json.loads(json.dumps(SURVEY))
    bad["questions"][1]["scale"] = 7
    result = runner.invoke("create-survey", "--file", smiletap.survey_file(bad))
    assert result.exit_code != 0
    assert "questions[1]" in result.output
    assert "Traceback" not in result.output


def test_survey_file_unknown_key_and_not_json(smiletap: Smiletap, runner: Cli, tmp_path) -> None:
    extra = {**SURVEY, "colour": "red"}
    result = runner.invoke("create-survey", "--file", smiletap.survey_file(extra))
    assert result.exit_code != 0 and "colour" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke("create-survey", "--file", str(broken))
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = runner.invoke("create-survey", "--file", str(tmp_path / "missing.json"))
    assert result.exit_code != 0 and "--file" in result.output


def test_assign_survey(smiletap: Smiletap, runner: Cli) -> None:
    location_id, survey_id = smiletap.location(), smiletap.survey()
    data = runner.json("assign-survey", "--location", location_id, "--survey", survey_id)
    assert data == {"location_id": location_id, "survey_id": survey_id}
    bad = runner.invoke("assign-survey", "--location", "loc_x", "--survey", survey_id)
    assert bad.exit_code != 0 and "--location" in bad.output
    bad = runner.invoke("assign-survey", "--location", location_id, "--survey", "srv_x")
    assert bad.exit_code != 0 and "--survey" in bad.output


def test_create_staff(smiletap: Smiletap, runner: Cli) -> None:
    location_id = smiletap.location()
    assert runner.json("create-staff", "--location", location_id, "--name", "Anna")["id"]
    assert runner.invoke("create-staff", "--location", "nope", "--name", "A").exit_code != 0


def test_create_device_and_new_code(smiletap: Smiletap, runner: Cli) -> None:
    device = smiletap.device(smiletap.location())
    assert set(device) == {"device_id", "code", "expires_at"}
    assert len(device["code"]) == 11 and device["code"][5] == "-"
    again = runner.json("new-enroll-code", device["device_id"])
    assert again["code"] != device["code"]
    assert runner.invoke("new-enroll-code", "dev_nope").exit_code != 0
    assert runner.invoke("create-device", "--location", "x", "--name", "n").exit_code != 0


def test_create_api_key(smiletap: Smiletap, runner: Cli) -> None:
    location_id = smiletap.location()
    assert runner.json("create-api-key", "--role", "admin")["key"].startswith("stk_")
    manager = runner.json("create-api-key", "--role", "manager", "--location", location_id)
    assert manager["role"] == "manager"
    assert runner.invoke("create-api-key", "--role", "manager").exit_code != 0
    assert runner.invoke("create-api-key", "--role", "boss").exit_code != 0


def test_revoke_device(smiletap: Smiletap, runner: Cli) -> None:
    device = smiletap.device(smiletap.location())
    data = runner.json("revoke-device", device["device_id"])
    assert data == {"device_id": device["device_id"], "revoked": True}
    assert runner.invoke("revoke-device", "dev_nope").exit_code != 0


def test_move_device(smiletap: Smiletap, runner: Cli) -> None:
    kiosk = smiletap.setup()
    before = kiosk.get("/api/v1/config")
    other = smiletap.location(name="Zeta Mall")
    data = runner.json("move-device", kiosk.device_id, "--location", other)
    assert data == {"device_id": kiosk.device_id, "location_id": other}
    after = kiosk.get("/api/v1/config")
    assert after.get_json()["location"]["id"] == other
    assert after.headers["ETag"] != before.headers["ETag"]
    result = kiosk.submit([kiosk.item()]).get_json()["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "location_mismatch")
    assert (
        f"moved to {other}"
        in runner.invoke("move-device", kiosk.device_id, "--location", other).output
    )


def test_move_device_unknown_device_or_location(smiletap: Smiletap, runner: Cli) -> None:
    location_id = smiletap.location()
    missing = runner.invoke("move-device", "dev_nope", "--location", location_id)
    assert missing.exit_code != 0 and "dev_nope" in missing.output
    device_id = smiletap.device(location_id)["device_id"]
    nowhere = runner.invoke("move-device", device_id, "--location", "loc_nope")
    assert nowhere.exit_code != 0 and "--location" in nowhere.output
    assert "Traceback" not in missing.output + nowhere.output


def test_rebuild_rollups_matches_ingest(smiletap: Smiletap, runner: Cli, database_url) -> None:
    kiosk = smiletap.setup()
    kiosk.submit([kiosk.item(v) for v in (1, 2, 5, 5)] + [kiosk.item(9, "q2")])
    engine = make_engine(database_url)
    query = select(rollups).order_by(*rollups.primary_key.columns)
    with engine.connect() as conn:
        pending_rollups.caught_up(conn)  # read as a reader reads them
        before = [tuple(r) for r in conn.execute(query)]
    assert runner.json("rebuild-rollups") == {"rows": len(before)}
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == before
    engine.dispose()


def test_run_migrates_then_serves(runner: Cli, monkeypatch) -> None:
    served = {}

    def fake_serve(app, host, port, threads, **options):
        served.update(host=host, port=port, name=app.name, options=options)

    monkeypatch.setattr("waitress.serve", fake_serve)
    result = runner.invoke("run", "--host", "127.0.0.1", "--port", "9999", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"host": "127.0.0.1", "port": 9999}
    assert served["port"] == 9999
    # Flask's limit admits MAX_CONTENT_LENGTH itself; waitress refuses from its limit up.
    assert served["options"] == {"max_request_body_size": 5 * 1024 * 1024 + 1}


def test_bad_setting_is_a_clear_message(database_url: str, tmp_path) -> None:
    runner = Cli(database_url, str(tmp_path))  # the command builds its app from the environment
    runner.env["SMILETAP_MIN_N"] = "many"
    result = runner.invoke("migrate")
    assert result.exit_code != 0 and "SMILETAP_MIN_N" in result.output


def test_current_revision_helper(database_url) -> None:
    engine = make_engine(database_url)
    assert migrations.current_revision(engine) == migrations.head_revision()
    engine.dispose()
