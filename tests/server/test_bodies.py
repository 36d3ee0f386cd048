"""parse_body: the raw-bytes shortcut names the same problem as the full walk, or none."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from server.api.bodies import SKIP_INTS, _check_values, parse_body
from server.errors import ApiError, from_validation_error
from shared.protocol import HeartbeatRequest, SubmissionBatch

APP = Flask(__name__)

texts = st.sampled_from(["q1", "a\x00b", "\x00", "1234567890123456789", "zażółć", "wait"])
ints = st.sampled_from([1, 5, -3, 2**53, 2**53 + 1, -(2**60), 10**30])
timestamps = st.sampled_from(
    [
        "2026-11-23T10:15:00+01:00",
        "1899-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "2200-12-31T23:00:00-05:00",
        "2201-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
    ]
)
answers = st.fixed_dictionaries(
    {"question_id": texts, "value": ints, "reasons": st.lists(texts, max_size=2)},
    optional={"comment": st.none() | texts, "extra": texts | ints},
)
submissions = st.fixed_dictionaries(
    {
        "id": texts,
        "survey_id": texts,
        "survey_version": ints,
        "location_id": texts,
        "staff_id": st.none() | texts,
        "language": texts,
        "tapped_at": timestamps,
        "answers": st.lists(answers, min_size=1, max_size=2),
    },
    optional={"age_s": st.sampled_from([0, 1.5, 10**16]), "flags": st.just(["burst"])},
)
batches = st.fixed_dictionaries(
    {"sent_at": timestamps, "submissions": st.lists(submissions, max_size=3)}
)
heartbeats = st.fixed_dictionaries(
    {"sent_at": timestamps},
    optional={
        "backlog": ints,
        "rejected_count": ints,
        "oldest_pending_at": st.none() | timestamps,
        "last_error": st.none() | texts,
        "config_etag": texts,
    },
)


def _outcome(model: type[BaseModel], raw: bytes, full_walk: bool) -> Any:
    with APP.test_request_context(data=raw, content_type="application/json"):
        try:
            if full_walk:  # what parse_body did before the shortcut
                try:
                    parsed = model.model_validate_json(raw)
                except ValidationError as exc:
                    raise from_validation_error(exc) from None
                _check_values(parsed.model_dump(), (), SKIP_INTS)
            else:
                parse_body(model)
        except ApiError as exc:
            return exc.code, exc.message, exc.field
    return None


@pytest.mark.parametrize(
    ("model", "bodies"), [(SubmissionBatch, batches), (HeartbeatRequest, heartbeats)]
)
@settings(max_examples=300, deadline=None)
@given(data=st.data(), ascii_only=st.booleans())
def test_shortcut_matches_full_walk(model, bodies, data, ascii_only) -> None:
    raw = json.dumps(data.draw(bodies), ensure_ascii=ascii_only).encode()
    assert _outcome(model, raw, full_walk=False) == _outcome(model, raw, full_walk=True)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"last_error": "a\x00b"}, "last_error", "text must not contain NUL characters"),
        ({"backlog": 2**53 + 1}, "backlog", "number out of range"),
        ({"oldest_pending_at": "2201-01-01T00:00:00Z"}, "oldest_pending_at", "timestamp out"),
        ({"sent_at": "1899-12-31T23:59:59Z"}, "sent_at", "timestamp out of range"),
    ],
)
def test_heartbeat_problems(body, field, message) -> None:
    raw = json.dumps({"sent_at": "2026-11-23T10:00:00Z", **body}).encode()
    code, text, named = _outcome(HeartbeatRequest, raw, full_walk=False)
    assert (code, named) == ("invalid_request", field) and text.startswith(message)


def test_a_batch_without_problems_passes() -> None:
    item = {
        "id": "x",
        "survey_id": "s",
        "survey_version": 10**20,  # range-checked against the survey later, not here
        "location_id": "l",
        "language": "en",
        "tapped_at": "2026-11-23T10:00:00Z",
        "answers": [{"question_id": "q1", "value": 3}],
    }
    raw = json.dumps({"sent_at": "2026-11-23T10:00:00Z", "submissions": [item]}).encode()
    assert _outcome(SubmissionBatch, raw, full_walk=False) is None


@settings(max_examples=200, deadline=None)
@given(years=st.lists(st.sampled_from([1899, 1900, 2026, 2200, 2201]), min_size=1, max_size=6))
def test_tap_years_of_a_clean_batch_are_judged_as_by_the_walk(years: list[int]) -> None:
    """A batch with no NUL and no long number has its tap times checked a field at a time over
    the list (`_all_times_fit`): out-of-range years anywhere, first or not, name the same item
    as the walk over every value."""
    items = [
        {
            "id": f"x{i}",
            "survey_id": "s",
            "survey_version": 1,
            "location_id": "l",
            "language": "en",
            "tapped_at": f"{year}-06-01T10:00:00Z",
            "answers": [{"question_id": "q1", "value": 3}],
        }
        for i, year in enumerate(years)
    ]
    raw = json.dumps({"sent_at": "2026-11-23T10:00:00Z", "submissions": items}).encode()
    found = _outcome(SubmissionBatch, raw, full_walk=False)
    assert found == _outcome(SubmissionBatch, raw, full_walk=True)
    bad = [i for i, year in enumerate(years) if not 1900 <= year <= 2200]
    expected = bad and (
        "invalid_request",
        "timestamp out of range",
        f"submissions[{bad[0]}].tapped_at",
    )
    assert found == (expected or None)
