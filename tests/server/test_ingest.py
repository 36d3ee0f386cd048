"""Canonical payloads: stored hashes are compared with new ones, so the form never drifts."""

from __future__ import annotations

import json

from server.ingest import canonical_payload, canonical_payloads, content_hash
from shared.protocol import SubmissionBatch

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
