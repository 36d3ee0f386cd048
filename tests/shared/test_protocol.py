"""Wire models (PROTOCOL.md): what parses, what is refused and where the error points."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from shared.protocol import (
    MAX_BATCH,
    ConfigResponse,
    CsatScore,
    ErrorBody,
    HeartbeatRequest,
    ScoreGroup,
    ScoresResponse,
    SubmissionBatch,
    SubmissionsResponse,
)


def submission(i: int = 0) -> dict[str, Any]:
    return {
        "id": f"6f1c2a3e-0000-4000-8000-{i:012d}",
        "survey_id": "srv_1",
        "survey_version": 3,
        "location_id": "loc_1",
        "staff_id": None,
        "language": "pl",
        "tapped_at": "2026-11-23T10:14:58+01:00",
        "answers": [{"question_id": "q1", "value": 2, "reasons": ["wait"], "comment": None}],
        "flags": [],
    }


def batch(count: int = 1) -> dict[str, Any]:
    return {"sent_at": "2026-11-23T09:15:00Z", "submissions": [submission(i) for i in range(count)]}


def both_ways(data: dict[str, Any]) -> list[SubmissionBatch]:
    """Raw JSON (the wire) and a json.loads'ed dict (Flask's get_json) must agree."""
    return [
        SubmissionBatch.model_validate_json(json.dumps(data)),
        SubmissionBatch.model_validate(json.loads(json.dumps(data))),
    ]


def errors_both_ways(data: dict[str, Any]) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    with pytest.raises(ValidationError) as raw:
        SubmissionBatch.model_validate_json(json.dumps(data))
    with pytest.raises(ValidationError) as decoded:
        SubmissionBatch.model_validate(json.loads(json.dumps(data)))
    for info in (raw, decoded):
        found.append([dict(e) for e in info.value.errors()])
    return found


def test_valid_batch_parses() -> None:
    for parsed in both_ways(batch(2)):
        assert parsed.sent_at == datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
        first = parsed.submissions[0]
        assert first.tapped_at == datetime(2026, 11, 23, 9, 14, 58, tzinfo=UTC)
        assert first.tapped_at.utcoffset() == timedelta(hours=1)  # the device's offset is kept
        assert first.answers[0].value == 2
        assert first.answers[0].reasons == ["wait"]
        assert first.staff_id is None
        assert [s.id for s in parsed.submissions] == [submission(0)["id"], submission(1)["id"]]


def test_defaults_for_optional_fields() -> None:
    data = batch()
    for key in ("staff_id", "flags"):
        del data["submissions"][0][key]
    data["submissions"][0]["answers"] = [{"question_id": "q1", "value": 5}]
    for parsed in both_ways(data):
        answer = parsed.submissions[0].answers[0]
        assert (answer.reasons, answer.comment) == ([], None)
        assert parsed.submissions[0].flags == []


def test_burst_flag_is_accepted() -> None:
    data = batch()
    data["submissions"][0]["flags"] = ["burst"]
    assert all(p.submissions[0].flags == ["burst"] for p in both_ways(data))


def _set(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(batch())
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    if isinstance(target, list) and path[-1] == len(target):
        target.append(value)  # e.g. a first flag
    else:
        target[path[-1]] = value
    return data


BAD = [
    ("value as a string", ("submissions", 0, "answers", 0, "value"), "2", "int_type"),
    ("value as a float", ("submissions", 0, "answers", 0, "value"), 2.0, "int_type"),
    ("value as a bool", ("submissions", 0, "answers", 0, "value"), True, "int_type"),
    ("version as a string", ("submissions", 0, "survey_version"), "3", "int_type"),
    ("naive sent_at", ("sent_at",), "2026-11-23T10:15:00", "value_error"),
    ("naive tapped_at", ("submissions", 0, "tapped_at"), "2026-11-23T10:14:58", "value_error"),
    ("date only", ("submissions", 0, "tapped_at"), "2026-11-23", "value_error"),
    ("not a timestamp", ("sent_at",), "yesterday", "value_error"),
    ("unix seconds", ("sent_at",), 1795000000, "datetime_type"),
    ("unknown flag", ("submissions", 0, "flags", 0), "spam", "literal_error"),
    ("flag list as a string", ("submissions", 0, "flags"), "burst", "list_type"),
    ("no answers", ("submissions", 0, "answers"), [], "too_short"),
    ("empty id", ("submissions", 0, "id"), "", "string_too_short"),
    ("id too long", ("submissions", 0, "id"), "x" * 65, "string_too_long"),
    ("staff id as a number", ("submissions", 0, "staff_id"), 7, "string_type"),
    (
        "comment too long",
        ("submissions", 0, "answers", 0, "comment"),
        "x" * 2001,
        "string_too_long",
    ),
]


@pytest.mark.parametrize(("path", "value", "kind"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_field_is_rejected_with_its_path(path: tuple[Any, ...], value: Any, kind: str) -> None:
    for errors in errors_both_ways(_set(path, value)):
        assert [(e["loc"], e["type"]) for e in errors] == [(path, kind)]


def test_missing_field_is_named() -> None:
    data = batch()
    del data["submissions"][0]["location_id"]
    for errors in errors_both_ways(data):
        assert [(e["loc"], e["type"]) for e in errors] == [
            (("submissions", 0, "location_id"), "missing")
        ]


def test_naive_timestamp_message_says_the_offset_is_missing() -> None:
    with pytest.raises(ValidationError, match="no UTC offset"):
        SubmissionBatch.model_validate(_set(("sent_at",), "2026-11-23T10:15:00"))
    naive = datetime(2026, 11, 23, 10, 15)  # naive on purpose
    with pytest.raises(ValidationError, match="timezone"):
        SubmissionBatch.model_validate({"sent_at": naive, "submissions": []})


def test_aware_datetime_objects_are_accepted() -> None:
    moment = datetime(2026, 11, 23, 10, 15, tzinfo=timezone(timedelta(hours=-5)))
    assert SubmissionBatch(sent_at=moment, submissions=[]).sent_at == moment


def test_batch_size_limit() -> None:
    assert MAX_BATCH == 500
    assert len(SubmissionBatch.model_validate_json(json.dumps(batch(500))).submissions) == 500
    for errors in errors_both_ways(batch(501)):
        assert [(e["loc"], e["type"]) for e in errors] == [(("submissions",), "too_long")]


def test_unknown_keys_are_ignored_at_every_level() -> None:
    data = batch()
    data["client"] = "kiosk 2.0"
    data["submissions"][0]["mood"] = "sunny"
    data["submissions"][0]["answers"][0]["duration_ms"] = 900
    for parsed in both_ways(data):
        dumped = parsed.model_dump_json()
        assert "client" not in dumped and "mood" not in dumped and "duration_ms" not in dumped
        assert parsed.submissions[0].answers[0].value == 2


def test_batch_round_trips_through_its_own_json() -> None:
    parsed = SubmissionBatch.model_validate_json(json.dumps(batch(3)))
    again = SubmissionBatch.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert SubmissionBatch.model_validate(parsed.model_dump(mode="json")) == parsed


def test_submissions_response_statuses_and_reasons() -> None:
    body: dict[str, Any] = {
        "server_time": "2026-11-23T09:15:01Z",
        "results": [
            {"id": "a", "status": "accepted", "reason": None, "field": None},
            {
                "id": "b",
                "status": "rejected",
                "reason": "value_out_of_range",
                "field": "answers[0].value",
            },
        ],
    }
    parsed = SubmissionsResponse.model_validate(body)  # as the kiosk gets it from .json()
    assert [r.status for r in parsed.results] == ["accepted", "rejected"]
    body["results"][1]["reason"] = "cosmic_rays"
    with pytest.raises(ValidationError) as info:
        SubmissionsResponse.model_validate(body)
    assert [e["loc"] for e in info.value.errors()] == [("results", 1, "reason")]


def test_heartbeat_counts_cannot_be_negative() -> None:
    ok = HeartbeatRequest.model_validate({"sent_at": "2026-11-23T09:15:00Z", "backlog": 12})
    assert (ok.backlog, ok.rejected_count, ok.oldest_pending_at) == (12, 0, None)
    with pytest.raises(ValidationError) as info:
        HeartbeatRequest.model_validate({"sent_at": "2026-11-23T09:15:00Z", "backlog": -1})
    assert [e["loc"] for e in info.value.errors()] == [("backlog",)]


def test_error_body_shape() -> None:
    body = ErrorBody.model_validate(
        {"error": {"code": "invalid_code", "message": "That code is not valid.", "field": None}}
    )
    assert body.model_dump() == {
        "error": {"code": "invalid_code", "message": "That code is not valid.", "field": None}
    }


def test_config_example_from_the_protocol_parses() -> None:
    config = {
        "etag": "abc",
        "device": {"id": "dev_1", "name": "Front door"},
        "location": {"id": "loc_1", "name": "Warszawa Centrum", "timezone": "Europe/Warsaw"},
        "survey": {
            "id": "srv_1",
            "version": 3,
            "languages": ["pl", "en"],
            "default_language": "pl",
            "questions": [
                {
                    "id": "q1",
                    "kind": "smiley",
                    "scale": 4,
                    "text": {"pl": "Jak?", "en": "How?"},
                    "follow_up": None,
                    "comment": False,
                }
            ],
            "staff_prompt": "none",
            "fixed_staff_id": None,
            "thank_you": {"pl": "Dzięki", "en": "Thanks"},
        },
        "staff": [{"id": "st_1", "display_name": "Anna"}],
        "kiosk": {"idle_reset_s": 20, "thank_you_s": 4, "burst_max_taps": 5, "burst_window_s": 10},
    }
    parsed = ConfigResponse.model_validate(config)
    assert parsed.survey is not None and parsed.survey.version == 3
    assert parsed.kiosk.burst_max_taps == 5
    assert ConfigResponse.model_validate({**config, "survey": None}).survey is None
    with pytest.raises(ValidationError) as info:
        ConfigResponse.model_validate({**config, "kiosk": {"idle_reset_s": 0}})
    assert [e["loc"] for e in info.value.errors()] == [("kiosk", "idle_reset_s")]


def scores() -> ScoresResponse:
    return ScoresResponse(
        from_="2026-11-01",
        to="2026-11-30",
        group_by="location",
        min_n=30,
        groups=[
            ScoreGroup(
                key={"location_id": "loc_1"},
                n=120,
                ranked=True,
                csat=CsatScore(score=78.3, ci95=(70.1, 84.8), n=120),
            )
        ],
    )


def test_scores_response_serializes_from_by_alias() -> None:
    dumped = scores().model_dump()
    assert dumped["from"] == "2026-11-01" and "from_" not in dumped
    as_json = json.loads(scores().model_dump_json())
    assert as_json["from"] == "2026-11-01" and "from_" not in as_json
    assert as_json["groups"][0]["csat"]["ci95"] == [70.1, 84.8]


def test_scores_response_reads_from_by_alias_and_by_name() -> None:
    wire = scores().model_dump_json()
    assert ScoresResponse.model_validate_json(wire) == scores()
    assert ScoresResponse.model_validate_json(wire.replace('"from"', '"from_"')) == scores()


def test_openapi_schemas_use_wire_names() -> None:
    scores_schema = ScoresResponse.model_json_schema(mode="serialization")
    assert "from" in scores_schema["properties"] and "from_" not in scores_schema["properties"]
    batch_schema = SubmissionBatch.model_json_schema()
    assert batch_schema["properties"]["sent_at"]["format"] == "date-time"
    assert batch_schema["properties"]["submissions"]["maxItems"] == 500
