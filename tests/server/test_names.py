"""The CLI, the device API and a survey's JSON refuse a line break (or any control character)
in a name with an error that names the field (the dashboard: tests/server/dashboard)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.server.conftest import SURVEY, Smiletap
from tests.server.dashboard.conftest import create_user

BROKEN = "Centrum\r\nBcc: everyone@example.com"


@pytest.mark.parametrize(
    "args",
    [
        ("create-location", "--timezone", "Europe/Warsaw", "--name"),
        ("create-staff", "--location", "LOCATION", "--name"),
        ("create-device", "--location", "LOCATION", "--name"),
    ],
)
def test_cli_refuses_a_line_break_in_a_name(smiletap: Smiletap, args: tuple[str, ...]) -> None:
    location = smiletap.location()
    argv = [location if a == "LOCATION" else a for a in args]
    result = smiletap.cli.invoke(*argv, BROKEN)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --name: must be one line without control characters (it holds U+000D)"
    ]


def test_cli_refuses_a_line_break_in_an_e_mail(smiletap: Smiletap) -> None:
    result = create_user(smiletap.cli, "bob@example.com\nBcc: x@example.com", "admin")
    assert result.exit_code == 1
    assert "--email: not an e-mail address" in result.output


def test_a_survey_name_must_be_one_line(smiletap: Smiletap, tmp_path: Path) -> None:
    path = tmp_path / "survey.json"
    path.write_text(json.dumps({**SURVEY, "name": "Exit\nsurvey"}), encoding="utf-8")
    result = smiletap.cli.invoke("create-survey", "--file", str(path))
    assert result.exit_code == 1
    assert re.search(r"name: Value error, must be one line without control", result.output)


def test_enroll_refuses_a_hostname_with_a_line_break(smiletap: Smiletap, client) -> None:
    device = smiletap.device(smiletap.location())
    info = {"app_version": "1.0.0", "platform": "linux", "hostname": "pi\r\nfront"}
    answer = client.post("/api/v1/enroll", json={"code": device["code"], "device_info": info})
    assert answer.status_code in (400, 422)
    assert answer.get_json()["error"]["field"] == "device_info.hostname"
