"""Canonical payloads: stored hashes are compared with new ones, so the form never drifts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.ingest import (
    _contents_and_tap_texts,
    _rows,
    _SqliteTexts,
    canonical_contents,
    canonical_payload,
    canonical_payloads,
    content_hash,
)
from server.store import bulk
from server.store.schema import submissions
from shared.clock import to_rfc3339
from shared.protocol import Submission, SubmissionBatch

ITEM = {
    "id": "6f1c1c9e-0b7d-4c57-9d55-2f3f0f6f8a11",
    "survey_id": "srv",
    "survey_version": 3,
    "location_id": "loc",
    "staff_id": None,
    "language": "pl",
    "tapped_at": "2026-11-23T10:15:00.250+01:00",
    "answers": [{"question_id": "q1", "value": 2, "reasons": ["wait"], "comment": "Zażółć"}],
    "flags": ["burst"],
    "age_s": 12.5,
    "from_a_newer_kiosk": True,
}

#: Written by the ingest of every release so far; a change here turns resends into conflicts.
CANONICAL = (
    '{"answers":[{"comment":"Zażółć","question_id":"q1","reasons":["wait"],"value":2}],'
    '"flags":["burst"],"id":"6f1c1c9e-0b7d-4c57-9d55-2f3f0f6f8a11","language":"pl",'
    '"location_id":"loc","staff_id":null,"survey_id":"srv","survey_version":3,'
    '"tapped_at":"2026-11-23T09:15:00.250000Z"}'
)


def _items(*items: dict[str, object]) -> SubmissionBatch:
    body = {"sent_at": "2026-11-23T10:00:00Z", "submissions": list(items)}
    return SubmissionBatch.model_validate_json(json.dumps(body))


def test_canonical_payload_is_stable() -> None:
    (item,) = _items(ITEM).submissions
    assert canonical_payload(item) == CANONICAL
    assert content_hash(CANONICAL) == content_hash(canonical_payload(item))


def test_a_batch_gives_each_item_its_own_payload() -> None:
    other = {**ITEM, "id": "x", "age_s": None, "tapped_at": "2026-11-23T09:15:00.25Z"}
    items = _items(ITEM, other).submissions
    assert canonical_payloads(items) == [canonical_payload(item) for item in items]
    assert canonical_payloads(items)[1] == CANONICAL.replace(f'"id":"{ITEM["id"]}"', '"id":"x"')


def test_canonical_payload_writes_text_as_the_standard_library_does() -> None:
    """orjson writes the payloads; its text must be the json module's, which wrote the hashes
    already stored: quotes, backslashes, control characters, line separators, emoji."""
    comment = 'a "quoted" \\ back\tslash\n\x01\x1f\x7f \u2028 \u2029 </script> Zażółć 😀 \ufeff'
    answers = [{"question_id": "q1", "value": 2, "reasons": [], "comment": comment}]
    (item,) = _items({**ITEM, "answers": answers}).submissions
    data = json.loads(canonical_payload(item))
    assert data["answers"][0]["comment"] == comment
    assert canonical_payload(item) == json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _old_canonical_payload(item: Submission) -> str:
    """The canonical payload as ingest wrote it before pydantic wrote the tap time: the json
    module's text, the tap time by `to_rfc3339`."""
    data = item.model_dump(mode="json", exclude={"age_s"})
    data["tapped_at"] = to_rfc3339(item.tapped_at)
    if data.get("touchpoint_id") is None:
        data.pop("touchpoint_id", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(UTC)
    ),
    offset_minutes=st.sampled_from([0, 0, 1, -1, 60, -330, 345, 14 * 60, -12 * 60]),
    whole_second=st.booleans(),
)
def test_the_tap_time_in_a_payload_is_to_rfc3339s_text(
    moment: datetime, offset_minutes: int, whole_second: bool
) -> None:
    """pydantic's serializer writes a UTC tap time (in Rust); it must be `to_rfc3339`'s text
    to the character (microseconds as six digits, none when zero, `Z`) or every resent tap
    would be an id conflict. A tap time sent with another offset is written in UTC too."""
    if whole_second:
        moment = moment.replace(microsecond=0)
    sent = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    (item,) = _items({**ITEM, "tapped_at": sent.isoformat()}).submissions
    assert canonical_payloads([item]) == [_old_canonical_payload(item)]
    assert json.loads(canonical_payload(item))["tapped_at"] == to_rfc3339(moment)


def test_payloads_of_a_batch_are_written_as_before() -> None:
    """Tap times with `Z`, `+00:00`, other offsets, microseconds and none; a touchpoint sent,
    null and absent; age sent and not."""
    sent = [
        {**ITEM, "id": "a", "tapped_at": "2026-03-29T01:00:00Z"},
        {**ITEM, "id": "b", "tapped_at": "2026-03-29T01:00:00.000001+00:00", "age_s": None},
        {**ITEM, "id": "c", "tapped_at": "2026-03-29T03:00:00.5+02:00", "touchpoint_id": "t"},
        {**ITEM, "id": "d", "tapped_at": "1900-01-01T00:00:00-00:30", "touchpoint_id": None},
    ]
    items = _items(*sent).submissions
    assert canonical_payloads(items) == [_old_canonical_payload(item) for item in items]
    assert [json.loads(p)["tapped_at"] for p in canonical_payloads(items)] == [
        "2026-03-29T01:00:00Z",
        "2026-03-29T01:00:00.000001Z",
        "2026-03-29T01:00:00.500000Z",
        "1900-01-01T00:30:00Z",
    ]


def test_contents_are_the_payloads_and_their_hashes() -> None:
    """`canonical_contents` hashes the bytes orjson wrote: the same hash as `content_hash` of
    the payload, for text beyond ASCII and for an integer orjson refuses (the json module's
    text then)."""
    huge = {**ITEM, "id": "h", "survey_version": 10**20}
    items = _items(ITEM, huge).submissions
    contents = canonical_contents(items)
    assert [payload for payload, _digest in contents] == [
        CANONICAL,
        _old_canonical_payload(items[1]),
    ]
    assert '"survey_version":100000000000000000000' in contents[1][0]
    assert [digest for _payload, digest in contents] == [
        content_hash(payload) for payload, _digest in contents
    ]


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(UTC)
    ),
    offset_minutes=st.sampled_from([0, 0, 1, -1, 60, -330, 345, 14 * 60, -12 * 60]),
    whole_second=st.booleans(),
    corrected_by_s=st.sampled_from([None, 0, -3600, 0.5]),
    zone=st.sampled_from(["Europe/Warsaw", "Asia/Kathmandu", "America/St_Johns", "UTC"]),
)
def test_rows_for_sqlite_hold_the_text_bulk_would_write(
    moment: datetime,
    offset_minutes: int,
    whole_second: bool,
    corrected_by_s: float | None,
    zone: str,
) -> None:
    """On SQLite ingest writes a submission row's moments and day as it builds the row (the
    tap time cut from its payload's text, `_SqliteTexts`): they must be what `bulk` converts
    the same row's objects to, for tap times with any offset, microseconds or none, and an
    effective time that is the tap time itself or a corrected one."""
    if whole_second:
        moment = moment.replace(microsecond=0)
    sent = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    answers = [{"question_id": "q1", "value": 2, "reasons": [], "comment": None}]
    (item,) = _items({**ITEM, "tapped_at": sent.isoformat(), "answers": answers}).submissions
    contents, taps = _contents_and_tap_texts([item])
    effective = item.tapped_at
    if corrected_by_s is not None:
        effective = (item.tapped_at + timedelta(seconds=corrected_by_s)).astimezone(UTC)
    received = datetime(2026, 11, 23, 9, 15, 0, 250, UTC)
    timing = (received, 1.5, effective, ZoneInfo(zone))
    device = {"id": "dev"}
    question: Any = SimpleNamespace(kind="smiley", scale=5)
    plain = _rows(device, item, [question], None, timing, contents[0])
    texts = _SqliteTexts(received, taps)
    as_text = _rows(device, item, [question], None, timing, contents[0], (texts, texts.taps[0]))
    assert list(as_text[0]) == list(bulk.sqlite_values(submissions, [plain[0]])[0])
    assert as_text[1:] == plain[1:]
